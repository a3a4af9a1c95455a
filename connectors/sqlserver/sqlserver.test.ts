/**
 * SQL Server connector without a SQL Server: catalog rows shaped as tedious delivers them,
 * the T-SQL the SDK planner produces with this dialect, how keyset positions bind back through
 * tedious's own parameter encoders, error classification from tedious's error classes, and real
 * TCP failures (refused port, a server that hangs up, one that never answers). Everything that
 * needs a real server lives in sqlserver.integration.test.ts (MSSQL_URL).
 */
import { ConnectionError, RequestError, TYPES } from 'tedious';
import { describe, expect, it } from 'vitest';
import { isSourceError, type SourceError } from '../sdk/errors.ts';
import { buildKeyLookupQueries, buildReadQuery, planStreamRead, readSqlStreams, type SqlQuery, type SqlSession } from '../sdk/sql.ts';
import type { ConfiguredStream } from '../sdk/types.ts';
import { closedPort, collect, recordsOf, slammingServer, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { FakeTediousConnection, tediousRow } from '../../test/fakes/tedious.ts';
import { buildRequest, classifySqlServerError, rowFromColumns, SqlServerClient, tediousConfig } from './client.ts';
import { mapSqlServerType, sqlServerDialect } from './dialect.ts';
import { discoverSqlServer } from './discover.ts';
import connector, { parseSqlServerConfig } from './index.ts';
import { boundParam, keysetValueOf, parsePreciseIso, preciseIso } from './keyset-values.ts';
import { sqlServerSpec, type SqlServerConfig } from './spec.ts';

const baseConfig = (extra: Record<string, unknown> = {}): SqlServerConfig =>
  parseSqlServerConfig({ host: '127.0.0.1', database: 'app', user: 'pip', password: 'Sup3r-Secret!', ...extra });

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSourceError(err)) throw new Error(`expected a SourceError, got ${String(err)}`);
  return err;
}

/** A tedious datetime2 value: a UTC Date plus the sub-millisecond rest tedious attaches. */
function datetime2(iso: string, ticksBeyondMs: number): Date {
  const date = new Date(iso);
  Object.defineProperty(date, 'nanosecondsDelta', { value: ticksBeyondMs / 1e7, enumerable: false });
  return date;
}

/** A scripted session: answers queries in order and records them. */
function scriptedSession(pages: Array<Array<Record<string, unknown>>>): SqlSession & { queries: SqlQuery[] } {
  const queries: SqlQuery[] = [];
  return {
    queries,
    async query(q) {
      queries.push(q);
      return pages.shift() ?? [];
    },
    async *stream() {
      throw new Error('not used');
    },
  };
}

describe('spec', () => {
  it('flags the password as secret and places every property in exactly one wizard step', () => {
    const props = sqlServerSpec.config.properties as Record<string, Record<string, unknown>>;
    expect(props.password?.['x-secret']).toBe(true);
    expect(Object.entries(props).filter(([, p]) => p['x-secret']).map(([k]) => k)).toEqual(['password']);
    const placed = sqlServerSpec.steps.flatMap((s) => s.fields).sort();
    expect(placed).toEqual(Object.keys(props).sort());
    expect(sqlServerSpec.steps.map((s) => s.id)).toEqual(['connection', 'authentication', 'tls', 'scope']);
  });

  it('builds tedious options: TLS, CA, strict TDS 8 and instance names instead of ports', () => {
    const options = tediousConfig(baseConfig({ caCertificate: 'PEM', tlsServerName: 'db.internal' })).options;
    expect(options).toMatchObject({ port: 1433, encrypt: true, trustServerCertificate: false, serverName: 'db.internal', cryptoCredentialsDetails: { ca: 'PEM' } });
    const named = tediousConfig(baseConfig({ instanceName: 'SQLEXPRESS', strictEncryption: true })).options;
    expect(named?.port).toBeUndefined();
    expect(named).toMatchObject({ instanceName: 'SQLEXPRESS', encrypt: 'strict' });
  });
});

describe('type mapping and quoting', () => {
  it.each([
    ['int', 'integer'], ['bigint', 'integer'], ['tinyint', 'integer'], ['bit', 'boolean'], ['decimal(18,2)', 'number'],
    ['money', 'number'], ['float', 'number'], ['nvarchar(255)', 'string'], ['varchar(max)', 'string'], ['ntext', 'string'],
    ['datetime2(7)', 'datetime'], ['datetime', 'datetime'], ['smalldatetime', 'datetime'], ['datetimeoffset(7)', 'datetime'],
    ['date', 'date'], ['time(7)', 'time'], ['uniqueidentifier', 'uuid'], ['timestamp', 'binary'], ['varbinary(max)', 'binary'],
    ['xml', 'string'], ['sql_variant', 'json'], ['geography', 'binary'],
  ])('maps %s to %s', (sourceType, expected) => {
    expect(mapSqlServerType(sourceType)).toBe(expected);
  });

  it('brackets identifiers and doubles a closing bracket', () => {
    expect(sqlServerDialect.quoteIdent('users')).toBe('[users]');
    expect(sqlServerDialect.quoteIdent('a]b; DROP TABLE x--')).toBe('[a]]b; DROP TABLE x--]');
    expect(sqlServerDialect.quoteIdent('[weird]')).toBe('[[weird]]]');
  });
});

describe('discover', () => {
  // rows as tedious returns them for the catalog queries: nvarchar → string, int → number,
  // SUM(bigint) → string, NULL → null
  const tables = [
    tediousRow({ table_schema: ['dbo', 'NVarChar'], table_name: ['users', 'NVarChar'], table_type: ['BASE TABLE', 'VarChar'], row_estimate: ['1200', 'BigInt'], description: ['People who sign in', 'NVarChar'] }),
    tediousRow({ table_schema: ['hr', 'NVarChar'], table_name: ['employees', 'NVarChar'], table_type: ['BASE TABLE', 'VarChar'], row_estimate: ['40', 'BigInt'], description: [null, 'NVarChar'] }),
    tediousRow({ table_schema: ['dbo', 'NVarChar'], table_name: ['active_users', 'NVarChar'], table_type: ['VIEW', 'VarChar'], row_estimate: [null, 'BigInt'], description: [null, 'NVarChar'] }),
    tediousRow({ table_schema: ['dbo', 'NVarChar'], table_name: ['tmp_import', 'NVarChar'], table_type: ['BASE TABLE', 'VarChar'], row_estimate: ['5', 'BigInt'], description: [null, 'NVarChar'] }),
  ];
  const column = (schema: string, table: string, name: string, ordinal: number, type: string, opts: { len?: number | null; p?: number | null; s?: number | null; dtp?: number | null; nullable?: boolean; identity?: number | null } = {}) =>
    tediousRow({
      table_schema: [schema, 'NVarChar'], table_name: [table, 'NVarChar'], column_name: [name, 'NVarChar'], ordinal_position: [ordinal, 'IntN', { dataLength: 4 }],
      data_type: [type, 'NVarChar'], char_length: [opts.len ?? null, 'IntN', { dataLength: 4 }], numeric_precision: [opts.p ?? null, 'IntN', { dataLength: 1 }],
      numeric_scale: [opts.s ?? null, 'IntN', { dataLength: 4 }], datetime_precision: [opts.dtp ?? null, 'IntN', { dataLength: 2 }],
      is_nullable: [opts.nullable ? 'YES' : 'NO', 'VarChar'], is_identity: [opts.identity ?? 0, 'IntN', { dataLength: 4 }], description: [null, 'NVarChar'],
    });
  const columns = [
    column('dbo', 'users', 'id', 1, 'int', { p: 10, s: 0, identity: 1 }),
    column('dbo', 'users', 'email', 2, 'nvarchar', { len: 255 }),
    column('dbo', 'users', 'password_hash', 3, 'varbinary', { len: -1, nullable: true }),
    column('dbo', 'users', 'balance', 4, 'decimal', { p: 10, s: 2, nullable: true }),
    column('dbo', 'users', 'updated_at', 5, 'datetime2', { dtp: 7 }),
    column('dbo', 'users', 'row_version', 6, 'timestamp', {}),
    column('hr', 'employees', 'emp_no', 1, 'char', { len: 8 }),
    column('hr', 'employees', 'user_id', 2, 'int', { p: 10, s: 0, nullable: true }),
    column('dbo', 'active_users', 'id', 1, 'int', { p: 10, s: 0 }),
    column('dbo', 'tmp_import', 'x', 1, 'int', { p: 10, s: 0 }),
  ];
  const keys = [
    tediousRow({ table_schema: ['dbo', 'NVarChar'], table_name: ['users', 'NVarChar'], column_name: ['id', 'NVarChar'], key_ordinal: [1, 'TinyInt'] }),
    tediousRow({ table_schema: ['hr', 'NVarChar'], table_name: ['employees', 'NVarChar'], column_name: ['emp_no', 'NVarChar'], key_ordinal: [1, 'TinyInt'] }),
  ];
  const foreignKeys = [
    tediousRow({
      table_schema: ['hr', 'NVarChar'], table_name: ['employees', 'NVarChar'], constraint_name: ['fk_employees_users', 'NVarChar'], column_name: ['user_id', 'NVarChar'],
      position: [1, 'Int'], referenced_schema: ['dbo', 'NVarChar'], referenced_table: ['users', 'NVarChar'], referenced_column: ['id', 'NVarChar'],
    }),
  ];

  it('maps INFORMATION_SCHEMA and sys.* rows to streams with keys, relations, cursors and estimates', async () => {
    const session = scriptedSession([tables, columns, keys, foreignKeys].map((rows) => rows.map(rowFromColumns)));
    const catalog = { streams: await discoverSqlServer(session, baseConfig({ schemas: ['dbo', 'hr'], excludeTables: ['tmp_*'] })) };

    expect(catalog.streams.map((s) => [s.name, s.namespace, s.kind])).toEqual([
      ['active_users', 'dbo', 'view'],
      ['users', 'dbo', 'table'],
      ['hr.employees', 'hr', 'table'],
    ]);
    const users = catalog.streams.find((s) => s.name === 'users');
    expect(users).toMatchObject({ primaryKey: ['id'], estimatedRows: 1200, description: 'People who sign in', supportedSyncModes: ['full', 'incremental'] });
    expect(users?.fields.map((f) => [f.name, f.type, f.sourceType, f.nullable])).toEqual([
      ['id', 'integer', 'int', false],
      ['email', 'string', 'nvarchar(255)', false],
      ['password_hash', 'binary', 'varbinary(max)', true],
      ['balance', 'number', 'decimal(10,2)', true],
      ['updated_at', 'datetime', 'datetime2(7)', false],
      ['row_version', 'binary', 'timestamp', false],
    ]);
    expect(users?.fields.find((f) => f.name === 'password_hash')?.suggestedSensitivity).toBe('restricted');
    expect(users?.cursorCandidates).toEqual(['updated_at', 'id', 'row_version']);
    const employees = catalog.streams.find((s) => s.name === 'hr.employees');
    expect(employees?.relations).toEqual([
      { name: 'fk_employees_users', fields: ['user_id'], references: { stream: 'users', namespace: 'dbo', fields: ['id'] } },
    ]);
    expect(catalog.streams.find((s) => s.name === 'active_users')?.primaryKey).toEqual([]);

    // the schema filter is bound, never interpolated
    expect(session.queries).toHaveLength(4);
    for (const q of session.queries) {
      expect(q.values).toEqual(['dbo', 'hr']);
      expect(q.text).toContain('IN (@p1, @p2)');
      expect(q.text).not.toContain("'hr'");
    }
  });
});

describe('read planning with the T-SQL dialect', () => {
  const spec = {
    stream: 'hr.emp]loyees',
    table: { namespace: 'hr', name: 'emp]loyees' },
    fields: ['name'],
    primaryKey: ['id'],
    syncMode: 'incremental' as const,
    cursorField: 'updated at',
  };

  it('pages with OFFSET/FETCH, an OR-expanded keyset predicate, bound values and quoted names', () => {
    const plan = planStreamRead(sqlServerDialect, spec, { batchSize: 500 });
    const first = buildReadQuery(plan);
    expect(first.text).toBe(
      'SELECT [id], [updated at], [name], [updated at] AS [__pip_k0], [id] AS [__pip_k1] FROM [hr].[emp]]loyees] t ' +
        'WHERE [updated at] IS NOT NULL ORDER BY [updated at], [id] OFFSET 0 ROWS FETCH NEXT @p1 ROWS ONLY',
    );
    expect(first.values).toEqual([500]);
    const position = [{ mssql: 'DateTime2', v: '2024-05-01T10:00:00.1234567Z' }, { mssql: 'Int', v: 42 }];
    const next = buildReadQuery(plan, position);
    expect(next.text).toContain(
      'WHERE [updated at] IS NOT NULL AND [updated at] >= @p1 AND (([updated at] > @p2) OR ([updated at] = @p3 AND [id] > @p4)) ORDER BY',
    );
    expect(next.values).toEqual([position[0], position[0], position[0], position[1], 500]);
  });

  it('binds targeted key lookups as parameters', () => {
    const [query] = buildKeyLookupQueries(sqlServerDialect, { ...spec, syncMode: 'full' }, [{ id: 7 }, { id: "1; DROP TABLE x" }]);
    expect(query?.text).toContain('WHERE ([id] = @p1) OR ([id] = @p2)');
    expect(query?.values).toEqual([7, '1; DROP TABLE x']);
    const request = buildRequest(query as SqlQuery, () => undefined);
    expect(request.parameters.map((p) => [p.name, p.type.name, p.value])).toEqual([
      ['p1', 'Int', 7],
      ['p2', 'NVarChar', '1; DROP TABLE x'],
    ]);
  });
});

describe('keyset positions', () => {
  it('keeps datetime2 ticks a JavaScript Date drops, and binds them back exactly', () => {
    const value = datetime2('2024-05-01T10:00:00.123Z', 4567);
    const tag = keysetValueOf({ value, metadata: { colName: '__pip_k0', type: { name: 'DateTime2' }, scale: 7 } });
    expect(tag).toEqual({ mssql: 'DateTime2', v: '2024-05-01T10:00:00.1234567Z' });
    const restored = JSON.parse(JSON.stringify(tag)) as unknown; // state goes through JSON
    const param = boundParam(restored);
    expect(param.type).toBe(TYPES.DateTime2);
    expect(param.options).toEqual({ scale: 7 });
    // encode with tedious's own datetime2 encoder: the time part is 100 ns ticks since midnight
    const chunks = [...TYPES.DateTime2.generateParameterData({ value: param.value, scale: 7 } as never, { useUTC: true } as never)];
    const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c as Buffer)));
    const ticks = bytes.readUIntLE(0, 5);
    expect(ticks).toBe((10 * 3600 + 0) * 1e7 + 1_234_567);
    // shorter fractions (datetime2(3) columns, hand-edited state) pad with zeros
    const short = parsePreciseIso('2024-05-01T10:00:00.5Z');
    expect(short.toISOString()).toBe('2024-05-01T10:00:00.500Z');
    expect((short as Date & { nanosecondDelta?: number }).nanosecondDelta).toBe(0);
    expect(preciseIso(datetime2('2024-05-01T10:00:00.000Z', 9999))).toBe('2024-05-01T10:00:00.0009999Z');
  });

  it('binds each column type as itself: datetime, varchar, rowversion, decimal, nullable ints', () => {
    const meta = (name: string, extra: Record<string, number> = {}) => ({ colName: '__pip_k0', type: { name }, ...extra });
    const legacy = keysetValueOf({ value: new Date('2024-05-01T10:00:00.007Z'), metadata: meta('DateTimeN', { dataLength: 8 }) });
    expect(legacy.mssql).toBe('DateTime');
    expect(boundParam(legacy).type).toBe(TYPES.DateTime);
    expect(boundParam(keysetValueOf({ value: 'abc', metadata: meta('VarChar') })).type).toBe(TYPES.VarChar);
    expect(boundParam(keysetValueOf({ value: 'abc', metadata: meta('NVarChar') })).type).toBe(TYPES.NVarChar);
    const rowversion = keysetValueOf({ value: Buffer.from('00000000000007d1', 'hex'), metadata: meta('Binary', { dataLength: 8 }) });
    expect(rowversion).toEqual({ mssql: 'Binary', v: 'AAAAAAAAB9E=' });
    expect(boundParam(rowversion)).toEqual({ type: TYPES.VarBinary, value: Buffer.from('00000000000007d1', 'hex') });
    const decimal = keysetValueOf({ value: 12.5, metadata: meta('DecimalN', { precision: 10, scale: 2 }) });
    expect(boundParam(decimal)).toEqual({ type: TYPES.Decimal, value: 12.5, options: { precision: 10, scale: 2 } });
    expect(boundParam(keysetValueOf({ value: '9007199254740993', metadata: meta('IntN', { dataLength: 8 }) })).type).toBe(TYPES.BigInt);
    expect(boundParam(keysetValueOf({ value: 5, metadata: meta('IntN', { dataLength: 2 }) })).type).toBe(TYPES.SmallInt);
    const date = boundParam(keysetValueOf({ value: new Date('2024-05-01T00:00:00Z'), metadata: meta('Date') }));
    expect(date).toEqual({ type: TYPES.Date, value: new Date('2024-05-01T00:00:00.000Z') });
  });

  it('reads page after page, checkpointing typed positions that bind back for the next page', async () => {
    const row = (id: number, ticks: number) =>
      rowFromColumns(tediousRow({
        id: [id, 'IntN', { dataLength: 4 }],
        code: [`c${id}`, 'VarChar'],
        updated_at: [datetime2('2024-05-01T10:00:00.000Z', ticks), 'DateTime2', { scale: 7 }],
        __pip_k0: [datetime2('2024-05-01T10:00:00.000Z', ticks), 'DateTime2', { scale: 7 }],
        __pip_k1: [`c${id}`, 'VarChar'],
      }));
    const session = scriptedSession([[row(1, 1), row(2, 1)], [row(3, 2)]]);
    const configured: ConfiguredStream = { name: 'users', fields: [], primaryKey: ['code'], syncMode: 'incremental', cursorField: 'updated_at' };
    const messages = await collect(readSqlStreams({
      source: 'sqlserver',
      dialect: sqlServerDialect,
      session,
      catalog: { streams: [configured] },
      ctx: testReadContext({ batchSize: 2 }),
      defaultNamespace: 'dbo',
    }));
    expect(recordsOf(messages).map((r) => r.id)).toEqual([1, 2, 3]);
    expect(recordsOf(messages)[0]).not.toHaveProperty('__pip_k0');
    const states = statesOf(messages);
    expect(states[0]).toEqual({
      cursorField: 'updated_at',
      cursor: { mssql: 'DateTime2', v: '2024-05-01T10:00:00.0000001Z' },
      pk: { code: { mssql: 'VarChar', v: 'c2' } },
    });
    expect(session.queries).toHaveLength(2);
    const request = buildRequest(session.queries[1] as SqlQuery, () => undefined);
    expect(request.parameters.map((p) => p.type.name)).toEqual(['DateTime2', 'DateTime2', 'DateTime2', 'VarChar', 'Int']);
    expect(request.sqlTextOrProcedure).toContain('FROM [dbo].[users] t WHERE');
  });
});

describe('streaming keyless results', () => {
  const rows = Array.from({ length: 10 }, (_, i) => tediousRow({ id: [i, 'Int'] }));

  it('yields bounded batches and pauses the request while a batch is consumed', async () => {
    const connection = new FakeTediousConnection(rows);
    const client = new SqlServerClient(baseConfig(), { connection });
    const sizes: number[] = [];
    for await (const batch of client.stream({ text: 'SELECT id FROM [v]', values: [] }, 3)) sizes.push(batch.length);
    expect(sizes).toEqual([3, 3, 3, 1]);
    expect(connection.maxRunWithoutPause).toBeLessThanOrEqual(3);
    expect(connection.cancelled).toBe(0);
  });

  it('cancels the request when the reader stops early', async () => {
    const connection = new FakeTediousConnection(rows);
    const client = new SqlServerClient(baseConfig(), { connection });
    for await (const batch of client.stream({ text: 'SELECT id FROM [v]', values: [] }, 3)) {
      expect(batch).toHaveLength(3);
      break;
    }
    expect(connection.cancelled).toBe(1);
  });
});

describe('error classification', () => {
  const config = baseConfig();

  it('maps login failures (ELOGIN + 18456) to auth without the password', () => {
    const err = new ConnectionError("Login failed for user 'pip'.", 'ELOGIN');
    const classified = classifySqlServerError(err, config, { number: 18456, message: "Login failed for user 'pip'." });
    expect(classified.kind).toBe('auth');
    expect(classified.detail).toEqual({ number: 18456 });
    expect(classified.message).not.toContain('Sup3r-Secret!');
  });

  it('maps an unknown database at login (4060) to config', () => {
    const message = 'Cannot open database "nope" requested by the login. The login failed.';
    expect(classifySqlServerError(new ConnectionError(message, 'ELOGIN'), config, { number: 4060, message }).kind).toBe('config');
    // without the token, the text still tells
    expect(classifySqlServerError(new ConnectionError(message, 'ELOGIN'), config).kind).toBe('config');
  });

  it.each([
    [229, 'permission', "The SELECT permission was denied on the object 'users', database 'app', schema 'dbo'."],
    [297, 'permission', 'The user does not have permission to perform this action.'],
    [208, 'config', "Invalid object name 'dbo.nope'."],
    [1205, 'transient', 'Transaction (Process ID 52) was deadlocked on lock resources'],
  ])('maps request error %i to %s', (number, kind, message) => {
    const err = new RequestError(message, 'EREQUEST');
    err.number = number;
    expect(classifySqlServerError(err, config).kind).toBe(kind);
  });

  it('looks into AggregateErrors of several error tokens', () => {
    const first = new RequestError("The SELECT permission was denied on the object 'a'", 'EREQUEST');
    first.number = 229;
    const second = new RequestError("The SELECT permission was denied on the object 'b'", 'EREQUEST');
    second.number = 229;
    expect(classifySqlServerError(new AggregateError([first, second]), config).kind).toBe('permission');
  });

  it('maps request and connect timeouts to timeout, and required encryption to tls', () => {
    expect(classifySqlServerError(new RequestError('Timeout: Request failed to complete in 15000ms', 'ETIMEOUT'), config).kind).toBe('timeout');
    expect(classifySqlServerError(new ConnectionError('Failed to connect to h:1433 in 15000ms', 'ETIMEOUT'), config).kind).toBe('timeout');
    expect(classifySqlServerError(new ConnectionError("Server requires encryption, set 'encrypt' config option to true.", 'EENCRYPT'), config).kind).toBe('tls');
    const tls = new ConnectionError('Failed to connect to h:1433 - self-signed certificate', 'ESOCKET', {
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    expect(classifySqlServerError(tls, config).kind).toBe('tls');
  });
});

describe('check against real sockets', () => {
  it('reports a refused port as unreachable', async () => {
    const port = await closedPort();
    const err = await failure(connector.check(baseConfig({ port, connectTimeoutMs: 2000 }), testContext()));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('reports a server that hangs up during the prelogin as unreachable', async () => {
    const server = await slammingServer();
    try {
      const err = await failure(connector.check(baseConfig({ port: server.port, connectTimeoutMs: 2000 }), testContext()));
      expect(err.kind).toBe('unreachable');
      expect(server.connections()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('reports a server that never answers as a timeout', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as { port: number };
    try {
      const err = await failure(connector.check(baseConfig({ port, connectTimeoutMs: 1000 }), testContext()));
      expect(err.kind).toBe('timeout');
    } finally {
      silent.close();
    }
  });

  it('refuses the cloud metadata address without connecting', async () => {
    const started = Date.now();
    const err = await failure(connector.check(baseConfig({ host: '169.254.169.254' }), testContext()));
    expect(err.kind).toBe('blocked');
    expect(Date.now() - started).toBeLessThan(500);
  });
});
