/**
 * Oracle connector without an Oracle server: dictionary rows shaped as node-oracledb returns them
 * (OUT_FORMAT_OBJECT, upper-case column names), the SQL the SDK planner produces with this
 * dialect, the client's use of the driver API (through a recording fake of getConnection /
 * execute / result sets), errors built by node-oracledb's own error module, and real TCP failures
 * met by the real Thin-mode driver. Everything needing a database is in oracle.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { isSourceError, type SourceError } from '../sdk/errors.ts';
import { buildReadQuery, planStreamRead, readSqlStreams } from '../sdk/sql.ts';
import type { ConfiguredStream } from '../sdk/types.ts';
import { closedPort, collect, recordsOf, slammingServer, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { driverError, fakeOracleDb, FakeOracleConnection, oracledbModule, oracleServerError } from '../../test/fakes/oracledb.ts';
import { classifyOracleError, connectDescriptor, fetchTypeFor, OracleClient, SESSION_SETUP } from './client.ts';
import { mapOracleType, oracleDialect, oracleTypeName } from './dialect.ts';
import { columnsQuery, discoverOracle, tablesQuery } from './discover.ts';
import connector, { parseOracleConfig } from './index.ts';
import { oracleSpec, type OracleConfig } from './spec.ts';

const baseConfig = (extra: Record<string, unknown> = {}): OracleConfig =>
  parseOracleConfig({ host: '127.0.0.1', serviceName: 'FREEPDB1', user: 'pip', password: 'Tiger-Secret-9', ...extra });

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSourceError(err)) throw new Error(`expected a SourceError, got ${String(err)}`);
  return err;
}

describe('spec and connect descriptor', () => {
  it('flags password and wallet as secrets and places every property in one wizard step', () => {
    const props = oracleSpec.config.properties as Record<string, Record<string, unknown>>;
    expect(Object.entries(props).filter(([, p]) => p['x-secret']).map(([k]) => k).sort()).toEqual(['password', 'walletPassword', 'walletPem']);
    expect(oracleSpec.steps.flatMap((s) => s.fields).sort()).toEqual(Object.keys(props).sort());
  });

  it('builds TCP and TCPS descriptors for a service name or a SID', () => {
    expect(connectDescriptor(baseConfig())).toBe(
      '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=127.0.0.1)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))',
    );
    expect(connectDescriptor(baseConfig({ serviceName: undefined, sid: 'ORCL', tls: true, port: 2484 }))).toBe(
      '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=127.0.0.1)(PORT=2484))(CONNECT_DATA=(SID=ORCL)))',
    );
  });

  it('rejects values that would break out of the descriptor', () => {
    expect(() => parseOracleConfig({ host: 'db', serviceName: 'X)(ADDRESS=(HOST=evil)', user: 'u', password: 'p' })).toThrow(/serviceName/);
    expect(() => parseOracleConfig({ host: 'db)(x', serviceName: 'X', user: 'u', password: 'p' })).toThrow(/host/);
    expect(() => connectDescriptor({ ...baseConfig(), sid: 'A)(B' , serviceName: undefined })).toThrow(/only hold/);
    expect(() => connectDescriptor({ ...baseConfig(), serviceName: undefined })).toThrow(/service name or a SID/);
  });
});

describe('types and quoting', () => {
  it('spells dictionary types as Oracle does', () => {
    expect(oracleTypeName({ dataType: 'NUMBER', precision: 10, scale: 0, charLength: 0 })).toBe('NUMBER(10,0)');
    expect(oracleTypeName({ dataType: 'NUMBER', precision: null, scale: 0, charLength: 0 })).toBe('NUMBER(*,0)');
    expect(oracleTypeName({ dataType: 'NUMBER', precision: null, scale: null, charLength: 0 })).toBe('NUMBER');
    expect(oracleTypeName({ dataType: 'VARCHAR2', precision: null, scale: null, charLength: 100 })).toBe('VARCHAR2(100)');
    expect(oracleTypeName({ dataType: 'TIMESTAMP(6) WITH TIME ZONE', precision: null, scale: 6, charLength: 0 })).toBe('TIMESTAMP(6) WITH TIME ZONE');
  });

  it.each([
    ['NUMBER(10,0)', 'integer'], ['NUMBER(*,0)', 'integer'], ['NUMBER(38)', 'integer'], ['NUMBER', 'number'], ['NUMBER(12,2)', 'number'],
    ['FLOAT', 'number'], ['BINARY_DOUBLE', 'number'], ['BINARY_FLOAT', 'number'], ['VARCHAR2(100)', 'string'], ['NVARCHAR2(50)', 'string'],
    ['CHAR(1)', 'string'], ['CLOB', 'string'], ['NCLOB', 'string'], ['DATE', 'datetime'], ['TIMESTAMP(6)', 'datetime'],
    ['TIMESTAMP(6) WITH TIME ZONE', 'datetime'], ['TIMESTAMP(9) WITH LOCAL TIME ZONE', 'datetime'], ['RAW(16)', 'binary'],
    ['BLOB', 'binary'], ['LONG RAW', 'binary'], ['INTERVAL DAY(2) TO SECOND(6)', 'string'], ['JSON', 'json'], ['BOOLEAN', 'boolean'],
    ['ROWID', 'string'], ['XMLTYPE', 'string'],
  ])('maps %s to %s', (sourceType, expected) => {
    expect(mapOracleType(sourceType)).toBe(expected);
  });

  it('double-quotes identifiers, keeps their case and doubles embedded quotes', () => {
    expect(oracleDialect.quoteIdent('Employees')).toBe('"Employees"');
    expect(oracleDialect.quoteIdent('a"b; DROP TABLE x')).toBe('"a""b; DROP TABLE x"');
  });
});

describe('discover', () => {
  // rows as node-oracledb returns them with OUT_FORMAT_OBJECT (NUMBER columns already through fetchTypeFor)
  const tables = [
    { OWNER: 'HR', TABLE_NAME: 'EMPLOYEES', KIND: 'TABLE', NUM_ROWS: 107, COMMENTS: 'employees table. Contains 107 rows.' },
    { OWNER: 'HR', TABLE_NAME: 'DEPARTMENTS', KIND: 'TABLE', NUM_ROWS: null, COMMENTS: null },
    { OWNER: 'HR', TABLE_NAME: 'EMP_DETAILS_VIEW', KIND: 'VIEW', NUM_ROWS: null, COMMENTS: null },
    { OWNER: 'APP', TABLE_NAME: 'Users', KIND: 'TABLE', NUM_ROWS: 3, COMMENTS: null },
  ];
  const col = (owner: string, table: string, name: string, id: number, type: string, p: number | null, s: number | null, len: number, nullable = 'Y', identity = 'NO') => ({
    OWNER: owner, TABLE_NAME: table, COLUMN_NAME: name, COLUMN_ID: id, DATA_TYPE: type, DATA_PRECISION: p, DATA_SCALE: s,
    CHAR_LENGTH: len, NULLABLE: nullable, IDENTITY_COLUMN: identity, COMMENTS: null,
  });
  const columns = [
    col('HR', 'EMPLOYEES', 'EMPLOYEE_ID', 1, 'NUMBER', 6, 0, 0, 'N'),
    col('HR', 'EMPLOYEES', 'EMAIL', 2, 'VARCHAR2', null, null, 25, 'N'),
    col('HR', 'EMPLOYEES', 'SALARY', 3, 'NUMBER', 8, 2, 0),
    col('HR', 'EMPLOYEES', 'DEPARTMENT_ID', 4, 'NUMBER', 4, 0, 0),
    col('HR', 'EMPLOYEES', 'LAST_MODIFIED', 5, 'TIMESTAMP(6)', null, 6, 0),
    col('HR', 'DEPARTMENTS', 'DEPARTMENT_ID', 1, 'NUMBER', 4, 0, 0, 'N'),
    col('HR', 'EMP_DETAILS_VIEW', 'EMPLOYEE_ID', 1, 'NUMBER', 6, 0, 0, 'N'),
    col('APP', 'Users', 'id', 1, 'NUMBER', null, 0, 0, 'N', 'YES'),
    col('APP', 'Users', 'avatar', 2, 'BLOB', null, null, 0),
    col('HR', 'BIN$abc==$0', 'X', 1, 'NUMBER', null, null, 0), // recycle bin: not in ALL_TABLES' live list
  ];
  const keys = [
    { OWNER: 'HR', TABLE_NAME: 'EMPLOYEES', COLUMN_NAME: 'EMPLOYEE_ID', POSITION: 1 },
    { OWNER: 'HR', TABLE_NAME: 'DEPARTMENTS', COLUMN_NAME: 'DEPARTMENT_ID', POSITION: 1 },
    { OWNER: 'APP', TABLE_NAME: 'Users', COLUMN_NAME: 'id', POSITION: 1 },
  ];
  const fks = [
    { OWNER: 'HR', TABLE_NAME: 'EMPLOYEES', CONSTRAINT_NAME: 'EMP_DEPT_FK', COLUMN_NAME: 'DEPARTMENT_ID', POSITION: 1, R_OWNER: 'HR', R_TABLE_NAME: 'DEPARTMENTS', R_COLUMN_NAME: 'DEPARTMENT_ID' },
  ];

  function sessionAnswering(schema: string) {
    const pages = [tables, columns, keys, fks];
    const queries: Array<{ text: string; values: unknown[] }> = [];
    return {
      queries,
      currentSchema: async () => schema,
      query: async (q: { text: string; values: unknown[] }) => {
        queries.push(q);
        return pages.shift() ?? [];
      },
      async *stream() {
        throw new Error('not used');
      },
    };
  }

  it('maps ALL_* rows to streams named relative to the current schema, with keys and relations', async () => {
    const session = sessionAnswering('HR');
    const streams = await discoverOracle(session, baseConfig({ owners: ['HR', 'APP'] }));
    expect(streams.map((s) => [s.name, s.namespace, s.kind])).toEqual([
      ['APP.Users', 'APP', 'table'],
      ['DEPARTMENTS', 'HR', 'table'],
      ['EMP_DETAILS_VIEW', 'HR', 'view'],
      ['EMPLOYEES', 'HR', 'table'],
    ]);
    const employees = streams.find((s) => s.name === 'EMPLOYEES');
    expect(employees?.fields.map((f) => [f.name, f.type, f.sourceType, f.nullable])).toEqual([
      ['EMPLOYEE_ID', 'integer', 'NUMBER(6,0)', false],
      ['EMAIL', 'string', 'VARCHAR2(25)', false],
      ['SALARY', 'number', 'NUMBER(8,2)', true],
      ['DEPARTMENT_ID', 'integer', 'NUMBER(4,0)', true],
      ['LAST_MODIFIED', 'datetime', 'TIMESTAMP(6)', true],
    ]);
    expect(employees).toMatchObject({ primaryKey: ['EMPLOYEE_ID'], estimatedRows: 107, cursorCandidates: ['LAST_MODIFIED', 'EMPLOYEE_ID'] });
    expect(employees?.fields.find((f) => f.name === 'SALARY')?.suggestedSensitivity).toBe('confidential');
    expect(employees?.relations).toEqual([
      { name: 'EMP_DEPT_FK', fields: ['DEPARTMENT_ID'], references: { stream: 'DEPARTMENTS', namespace: 'HR', fields: ['DEPARTMENT_ID'] } },
    ]);
    expect(streams.find((s) => s.name === 'APP.Users')?.cursorCandidates).toEqual(['id']);
    expect(streams.some((s) => s.name.includes('BIN$'))).toBe(false);
    for (const q of session.queries) {
      expect(q.text).not.toContain("'HR'");
      expect(q.values).toEqual(q.text.includes('UNION ALL') ? ['HR', 'APP', 'HR', 'APP'] : ['HR', 'APP']);
    }
  });

  it('leaves Oracle-maintained schemas out when no owner is configured', () => {
    expect(columnsQuery([]).text).toContain("c.OWNER IN (SELECT USERNAME FROM ALL_USERS WHERE ORACLE_MAINTAINED = 'N')");
    expect(columnsQuery([]).values).toEqual([]);
    expect(tablesQuery(['HR']).text).toContain('t.OWNER IN (:1)');
    expect(tablesQuery(['HR']).text).toContain('v.OWNER IN (:2)');
  });
});

describe('read planning with the Oracle dialect', () => {
  it('pages with FETCH FIRST, an OR-expanded keyset predicate, positional binds and quoted names', () => {
    const plan = planStreamRead(
      oracleDialect,
      { stream: 'Emp"s', table: { namespace: 'HR', name: 'Emp"s' }, fields: [], primaryKey: ['ID'], syncMode: 'incremental', cursorField: 'updated at' },
      { batchSize: 200 },
    );
    const next = buildReadQuery(plan, ['2024-05-01T10:00:00.123456789', '42']);
    expect(next.text).toBe(
      'SELECT t.*, "updated at" AS "__pip_k0", "ID" AS "__pip_k1" FROM "HR"."Emp""s" t WHERE "updated at" IS NOT NULL ' +
        'AND "updated at" >= :1 AND (("updated at" > :2) OR ("updated at" = :3 AND "ID" > :4)) ORDER BY "updated at", "ID" FETCH FIRST :5 ROWS ONLY',
    );
    expect(next.values).toEqual(['2024-05-01T10:00:00.123456789', '2024-05-01T10:00:00.123456789', '2024-05-01T10:00:00.123456789', '42', 200]);
  });
});

describe('fetching', () => {
  const db = oracledbModule;

  it('fetches keyset helper columns as exact text, dates as session-format text, LOBs inline', () => {
    expect(fetchTypeFor(db, { name: '__pip_k0', dbTypeName: 'TIMESTAMP' })?.type).toBe(db.STRING);
    expect(fetchTypeFor(db, { name: '__pip_k1', dbTypeName: 'NUMBER', precision: 10, scale: 0 })?.type).toBe(db.STRING);
    expect(fetchTypeFor(db, { name: '__pip_k1', dbTypeName: 'RAW' })?.type).toBe(db.STRING);
    expect(fetchTypeFor(db, { name: 'CREATED', dbTypeName: 'DATE' })?.type).toBe(db.STRING);
    expect(fetchTypeFor(db, { name: 'NOTES', dbTypeName: 'CLOB' })?.type).toBe(db.STRING);
    expect(fetchTypeFor(db, { name: 'PHOTO', dbTypeName: 'BLOB' })?.type).toBe(db.BUFFER);
    expect(fetchTypeFor(db, { name: 'ID', dbTypeName: 'NUMBER', precision: 10, scale: 0 })).toBeUndefined();
    expect(SESSION_SETUP).toContain("NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9'");
    expect(SESSION_SETUP).toContain('NLS_SORT = BINARY NLS_COMP = BINARY');
  });

  it('converts NUMBER text exactly, including Thin mode\'s leading-dot form', () => {
    const convert = fetchTypeFor(db, { name: 'AMOUNT', dbTypeName: 'NUMBER', precision: 0, scale: -127 })?.converter;
    expect(convert?.('.5')).toBe(0.5);
    expect(convert?.('-.25')).toBe(-0.25);
    expect(convert?.('42')).toBe(42);
    expect(convert?.('12345678901234567890.123')).toBe('12345678901234567890.123');
    expect(convert?.(null)).toBeNull();
  });
});

describe('client over the driver API', () => {
  const pageRow = (id: string, at: string) => ({ ID: Number(id), NAME: `n${id}`, UPDATED_AT: at, __pip_k0: at, __pip_k1: id });

  function fakeSession(pages: Array<Array<Record<string, unknown>>>) {
    const connection = new FakeOracleConnection((sql) => {
      if (sql.startsWith('ALTER SESSION')) return [];
      if (sql.includes('CURRENT_SCHEMA')) return [{ CURRENT_SCHEMA: 'HR' }];
      return pages.shift() ?? [];
    }, [{ name: '__pip_k0', dbTypeName: 'TIMESTAMP' }]);
    const db = fakeOracleDb(connection);
    return { connection, db, client: new OracleClient(baseConfig({ callTimeoutMs: 5000, connectTimeoutMs: 2500 }), { driver: () => db }) };
  }

  it('connects with a descriptor and timeouts, fixes NLS formats, and binds keyset text for the next page', async () => {
    const { connection, db, client } = fakeSession([
      [pageRow('1', '2024-05-01T10:00:00.000000001'), pageRow('2', '2024-05-01T10:00:00.000000001')],
      [pageRow('3', '2024-05-02T00:00:00.000000000')],
    ]);
    const configured: ConfiguredStream = { name: 'USERS', fields: [], primaryKey: ['ID'], syncMode: 'incremental', cursorField: 'UPDATED_AT' };
    const messages = await collect(readSqlStreams({
      source: 'oracle', dialect: oracleDialect, session: client, catalog: { streams: [configured] },
      ctx: testReadContext({ batchSize: 2 }), defaultNamespace: await client.currentSchema(),
    }));
    await client.close();

    expect(db.connectOptions[0]).toMatchObject({
      user: 'pip',
      connectString: '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=127.0.0.1)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))',
      connectTimeout: 3,
      sslServerDNMatch: true,
    });
    expect(connection.callTimeout).toBe(5000);
    expect(connection.executed[0]?.sql).toBe(SESSION_SETUP);
    expect(recordsOf(messages).map((r) => r.ID)).toEqual([1, 2, 3]);
    expect(recordsOf(messages)[0]).not.toHaveProperty('__pip_k0');
    expect(statesOf(messages)[0]).toEqual({ cursorField: 'UPDATED_AT', cursor: '2024-05-01T10:00:00.000000001', pk: { ID: '2' } });
    const second = connection.executed[3];
    expect(second?.sql).toContain('FROM "HR"."USERS" t WHERE');
    expect(second?.binds).toEqual(['2024-05-01T10:00:00.000000001', '2024-05-01T10:00:00.000000001', '2024-05-01T10:00:00.000000001', '2', 2]);
    expect(second?.options).toMatchObject({ outFormat: oracledbModule.OUT_FORMAT_OBJECT });
    expect(connection.closed).toBe(true);
  });

  it('streams keyless results through a result set and closes it when the reader stops', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => ({ ID: i }));
    const { connection, client } = fakeSession([rows]);
    const sizes: number[] = [];
    for await (const batch of client.stream({ text: 'SELECT * FROM "V"', values: [] }, 3)) {
      sizes.push(batch.length);
      if (sizes.length === 2) break;
    }
    expect(sizes).toEqual([3, 3]);
    const statement = connection.executed.find((e) => e.sql === 'SELECT * FROM "V"');
    expect(statement?.options).toMatchObject({ resultSet: true, fetchArraySize: 3 });
    expect(connection.resultSetsClosed).toBe(1);
  });
});

describe('error classification', () => {
  const config = baseConfig();

  it.each([
    [1017, 'invalid credential or not authorized; logon denied', 'auth'],
    [28000, 'The account is locked.', 'auth'],
    [942, 'table or view "HR"."SECRET" does not exist', 'permission'],
    [1031, 'insufficient privileges', 'permission'],
    [1045, 'Login denied. User PIP does not have CREATE SESSION privilege.', 'permission'],
    [904, '"NOPE": invalid identifier', 'config'],
    [60, 'deadlock detected while waiting for resource', 'transient'],
  ])('maps ORA-%i to %s', (num, text, kind) => {
    const err = classifyOracleError(oracleServerError(num, text), config, 'query');
    expect(err.kind).toBe(kind);
    expect(err.message).not.toContain('Tiger-Secret-9');
  });

  it('maps Thin-mode listener and connect errors', () => {
    const kind = (err: unknown, phase: 'connect' | 'query' = 'connect') => classifyOracleError(err, config, phase).kind;
    expect(kind(driverError('ERR_INVALID_SERVICE_NAME', 'NOPE', '127.0.0.1', 1521, 'id'))).toBe('config');
    expect(kind(driverError('ERR_INVALID_SID', 'NOPE', '127.0.0.1', 1521, 'id'))).toBe('config');
    expect(kind(driverError('ERR_CONNECTION_TIMEDOUT', '127.0.0.1', 1521, 'connectTimeout', 3, 'id'))).toBe('timeout');
    expect(kind(driverError('ERR_CALL_TIMEOUT_EXCEEDED', 5000), 'query')).toBe('timeout');
    expect(kind(driverError('ERR_TLS_AUTH_FAILURE', '127.0.0.1', 2484, 'id', 'self-signed certificate'))).toBe('tls');
    expect(kind(driverError('ERR_CONNECTION_INCOMPLETE', '127.0.0.1', 1521, 'id', 'connect ECONNREFUSED 127.0.0.1:1521'))).toBe('unreachable');
    expect(kind(driverError('ERR_CONNECTION_INCOMPLETE', 'db.example', 1521, 'id', 'getaddrinfo ENOTFOUND db.example'))).toBe('dns');
    // ORA-03113 end-of-file becomes NJS-500: unreachable while connecting, worth retrying mid-query
    const eof = oracleServerError(3113, 'end-of-file on communication channel');
    expect(kind(eof, 'connect')).toBe('unreachable');
    expect(kind(eof, 'query')).toBe('transient');
  });
});

describe('check against real sockets (real Thin-mode driver)', () => {
  it('reports a refused port as unreachable', async () => {
    const port = await closedPort();
    const err = await failure(connector.check(baseConfig({ port, connectTimeoutMs: 2000 }), testContext()));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('reports a server that closes at once as unreachable', async () => {
    const server = await slammingServer();
    try {
      const err = await failure(connector.check(baseConfig({ port: server.port, connectTimeoutMs: 2000 }), testContext()));
      expect(err.kind).toBe('unreachable');
      expect(server.connections()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('reports a listener that never answers as a timeout', async () => {
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
