import { describe, expect, it } from 'vitest';
import {
  buildCatalog,
  buildKeyLookupQueries,
  buildReadQuery,
  createNameFilter,
  exactDecimal,
  mapCommonSqlType,
  planStreamRead,
  quoteBacktick,
  quoteBracket,
  quoteDoubleQuoted,
  readSqlStreams,
  resolveStreamTable,
  streamName,
  type ColumnRow,
  type ForeignKeyRow,
  type KeyRow,
  type SqlDialect,
  type SqlQuery,
  type SqlSession,
} from './sql.ts';
import type { ReadContext, ReadMessage } from './types.ts';

const ansi: SqlDialect = {
  name: 'ansi',
  quoteIdent: (n) => quoteDoubleQuoted(n),
  placeholder: (i) => `$${i}`,
  mapType: mapCommonSqlType,
  limit: (p) => `LIMIT ${p}`,
  rowValueComparison: true,
  keyText: (c) => `(${c})::text`,
};
const noRowValues: SqlDialect = { ...ansi, name: 'plain', placeholder: () => '?', rowValueComparison: false, keyText: undefined };

describe('identifier quoting', () => {
  const hostile = ['weird"; DROP TABLE x; --', 'we`ird', 'br]ack[et', "it's", 'semi;colon'];

  it('keeps hostile names one identifier in every quoting style', () => {
    for (const name of hostile) {
      const dq = quoteDoubleQuoted(name);
      expect(dq.slice(1, -1).replace(/""/g, '"')).toBe(name);
      expect(dq.slice(1, -1).replace(/""/g, '')).not.toContain('"');
      const bt = quoteBacktick(name);
      expect(bt.slice(1, -1).replace(/``/g, '')).not.toContain('`');
      expect(bt.slice(1, -1).replace(/``/g, '`')).toBe(name);
      const br = quoteBracket(name);
      expect(br.slice(1, -1).replace(/]]/g, '')).not.toContain(']');
      expect(br.slice(1, -1).replace(/]]/g, ']')).toBe(name);
    }
    expect(quoteDoubleQuoted('weird"; DROP TABLE x; --')).toBe('"weird""; DROP TABLE x; --"');
    expect(quoteBacktick('we`ird')).toBe('`we``ird`');
    expect(quoteBracket('a]b')).toBe('[a]]b]');
  });

  it('refuses empty names and NUL characters', () => {
    expect(() => quoteDoubleQuoted('')).toThrow(/empty identifier/);
    expect(() => quoteBacktick('a\u0000b')).toThrow(/NUL/);
  });
});

describe('mapCommonSqlType', () => {
  it('maps the usual type names', () => {
    expect(mapCommonSqlType('character varying(255)')).toBe('string');
    expect(mapCommonSqlType('int(10) unsigned')).toBe('integer');
    expect(mapCommonSqlType('BIGINT')).toBe('integer');
    expect(mapCommonSqlType('numeric(10,2)')).toBe('number');
    expect(mapCommonSqlType('NUMBER(10)')).toBe('integer');
    expect(mapCommonSqlType('timestamp(3) with time zone')).toBe('datetime');
    expect(mapCommonSqlType('time without time zone')).toBe('time');
    expect(mapCommonSqlType('jsonb')).toBe('json');
    expect(mapCommonSqlType('uuid')).toBe('uuid');
    expect(mapCommonSqlType('text[]')).toBe('array');
    expect(mapCommonSqlType('_int4')).toBe('array');
    expect(mapCommonSqlType('bytea')).toBe('binary');
    expect(mapCommonSqlType("enum('a','b')")).toBe('string');
  });
});

describe('exactDecimal', () => {
  it('returns numbers only when exact', () => {
    expect(exactDecimal('12.50')).toBe(12.5);
    expect(exactDecimal('-0.10')).toBe(-0.1);
    expect(exactDecimal('100')).toBe(100);
    expect(exactDecimal('12345678901234567890.123')).toBe('12345678901234567890.123');
    expect(exactDecimal('0.1000000000000000055511')).toBe('0.1000000000000000055511');
    expect(exactDecimal('NaN')).toBe('NaN');
  });
  it('reads decimals printed without a leading zero (Oracle thin mode prints .5)', () => {
    expect(exactDecimal('.5')).toBe(0.5);
    expect(exactDecimal('-.25')).toBe(-0.25);
  });
});

describe('buildCatalog', () => {
  const col = (table: string, column: string, ordinal: number, dataType: string, nullable = false, extra: Partial<ColumnRow> = {}): ColumnRow => ({
    namespace: 'app', table, column, ordinal, dataType, nullable, ...extra,
  });
  // given out of order on purpose: the builder must sort by ordinal / position
  const columns: ColumnRow[] = [
    col('memberships', 'updated_at', 4, 'timestamp with time zone', true),
    col('memberships', 'group_id', 2, 'integer'),
    col('memberships', 'org_id', 1, 'integer'),
    col('memberships', 'user_id', 3, 'integer'),
    col('users', 'email', 2, 'text', true),
    col('users', 'id', 1, 'bigint', false, { increasing: true }),
    col('groups', 'org_id', 1, 'integer'),
    col('groups', 'group_id', 2, 'integer'),
    col('groups', 'name', 3, 'text'),
    { namespace: 'other', table: 'groups', column: 'x', ordinal: 1, dataType: 'text', nullable: true },
  ];
  const keys: KeyRow[] = [
    { namespace: 'app', table: 'memberships', column: 'user_id', position: 3 },
    { namespace: 'app', table: 'memberships', column: 'org_id', position: 1 },
    { namespace: 'app', table: 'memberships', column: 'group_id', position: 2 },
    { namespace: 'app', table: 'users', column: 'id', position: 1 },
    { namespace: 'app', table: 'groups', column: 'group_id', position: 2 },
    { namespace: 'app', table: 'groups', column: 'org_id', position: 1 },
  ];
  const fk = (constraintName: string, column: string, position: number, referencedTable: string, referencedColumn: string): ForeignKeyRow => ({
    namespace: 'app', table: 'memberships', constraintName, column, position, referencedNamespace: 'app', referencedTable, referencedColumn,
  });
  const foreignKeys = [
    fk('memberships_group_fk', 'group_id', 2, 'groups', 'group_id'),
    fk('memberships_user_fk', 'user_id', 1, 'users', 'id'),
    fk('memberships_group_fk', 'org_id', 1, 'groups', 'org_id'),
  ];
  const catalog = buildCatalog(columns, keys, foreignKeys, ansi, {
    defaultNamespace: 'app',
    tables: [{ namespace: 'app', table: 'users', kind: 'table', estimatedRows: 12 }, { namespace: 'other', table: 'groups', kind: 'view' }],
  });
  const stream = (name: string) => catalog.find((s) => s.name === name)!;

  it('orders fields by ordinal with types, nullability and sensitivity', () => {
    expect(stream('memberships').fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['org_id', 'integer', false],
      ['group_id', 'integer', false],
      ['user_id', 'integer', false],
      ['updated_at', 'datetime', true],
    ]);
    expect(stream('users').fields.find((f) => f.name === 'email')).toMatchObject({ sourceType: 'text', suggestedSensitivity: 'confidential' });
  });

  it('builds composite primary keys in key order', () => {
    expect(stream('memberships').primaryKey).toEqual(['org_id', 'group_id', 'user_id']);
    expect(stream('groups').primaryKey).toEqual(['org_id', 'group_id']);
  });

  it('builds relations from simple and composite foreign keys in column order', () => {
    expect(stream('memberships').relations).toEqual([
      { name: 'memberships_group_fk', fields: ['org_id', 'group_id'], references: { stream: 'groups', namespace: 'app', fields: ['org_id', 'group_id'] } },
      { name: 'memberships_user_fk', fields: ['user_id'], references: { stream: 'users', namespace: 'app', fields: ['id'] } },
    ]);
  });

  it('proposes change timestamps and increasing integer keys as cursors', () => {
    expect(stream('memberships').cursorCandidates).toEqual(['updated_at']);
    expect(stream('memberships').supportedSyncModes).toEqual(['full', 'incremental']);
    expect(stream('users').cursorCandidates).toEqual(['id']);
    expect(stream('groups').cursorCandidates).toEqual([]);
    expect(stream('groups').supportedSyncModes).toEqual(['full']);
  });

  it('names streams outside the default namespace with their namespace, and keeps kinds and estimates', () => {
    expect(catalog.map((s) => s.name)).toEqual(['groups', 'memberships', 'users', 'other.groups']);
    expect(stream('other.groups')).toMatchObject({ namespace: 'other', kind: 'view', primaryKey: [] });
    expect(stream('users').estimatedRows).toBe(12);
  });
});

describe('stream names', () => {
  it('round-trips through resolveStreamTable', () => {
    for (const [ns, table] of [['public', 'users'], ['hr', 'users'], ['hr', 'hr.odd'], ['public', 'a.b']] as const) {
      expect(resolveStreamTable({ name: streamName(ns, table, 'public'), namespace: ns }, 'public')).toEqual({ namespace: ns, name: table });
    }
  });
});

describe('read planning', () => {
  const spec = {
    stream: 'memberships',
    table: { namespace: 'app', name: 'memberships' },
    fields: ['role'],
    primaryKey: ['org_id', 'user_id'],
    syncMode: 'incremental' as const,
    cursorField: 'updated_at',
  };

  it('orders by (cursor, key…) and resumes after the checkpoint with tie-breaking on the key', () => {
    const plan = planStreamRead(ansi, spec, {
      batchSize: 50,
      state: { cursorField: 'updated_at', cursor: '2024-01-01 00:00:00.123456+00', pk: { org_id: '1', user_id: '7' } },
    });
    const q = buildReadQuery(plan);
    expect(q.text).toBe(
      'SELECT "org_id", "user_id", "updated_at", "role", ("updated_at")::text AS "__pip_k0", ("org_id")::text AS "__pip_k1", ("user_id")::text AS "__pip_k2" ' +
        'FROM "app"."memberships" t WHERE "updated_at" IS NOT NULL AND ("updated_at", "org_id", "user_id") > ($1, $2, $3) ' +
        'ORDER BY "updated_at", "org_id", "user_id" LIMIT $4',
    );
    expect(q.values).toEqual(['2024-01-01 00:00:00.123456+00', '1', '7', 50]);
  });

  it('expands the row comparison for dialects without row values', () => {
    const plan = planStreamRead(noRowValues, spec, { batchSize: 10 });
    const q = buildReadQuery(plan, ['T', 1, 7]);
    expect(q.text).toContain(
      'WHERE "updated_at" IS NOT NULL AND "updated_at" >= ? AND (("updated_at" > ?) OR ("updated_at" = ? AND "org_id" > ?) OR ("updated_at" = ? AND "org_id" = ? AND "user_id" > ?))',
    );
    expect(q.values).toEqual(['T', 'T', 'T', 1, 'T', 1, 7, 10]);
  });

  it('ignores a checkpoint taken with another cursor field', () => {
    const plan = planStreamRead(ansi, spec, { batchSize: 5, state: { cursorField: 'created_at', cursor: 'x', pk: {} } });
    expect(buildReadQuery(plan).values).toEqual([5]);
  });

  it('reads keyless streams in one streamed query, filtering on the cursor only', () => {
    const plan = planStreamRead(noRowValues, { ...spec, primaryKey: [] }, { batchSize: 10, state: { cursorField: 'updated_at', cursor: 'T' } });
    expect(plan.strategy).toBe('single');
    const q = buildReadQuery(plan);
    expect(q.text).toBe('SELECT "updated_at", "role" FROM "app"."memberships" t WHERE "updated_at" IS NOT NULL AND "updated_at" > ? ORDER BY "updated_at"');
    expect(q.values).toEqual(['T']);
  });

  it('quotes hostile table and column names and binds key values', () => {
    const [q] = buildKeyLookupQueries(ansi, {
      ...spec, table: { namespace: 'app', name: 'weird"; DROP TABLE x; --' }, fields: [], primaryKey: ['i"d'],
    }, [{ 'i"d': "1' OR '1'='1" }, { 'i"d': null }]);
    expect(q!.text).toBe('SELECT t.* FROM "app"."weird""; DROP TABLE x; --" t WHERE ("i""d" = $1) OR ("i""d" IS NULL)');
    expect(q!.values).toEqual(["1' OR '1'='1"]);
  });

  it('splits targeted reads into chunks', () => {
    const keys = Array.from({ length: 5 }, (_, i) => ({ org_id: 1, user_id: i }));
    const queries = buildKeyLookupQueries(ansi, spec, keys, 2);
    expect(queries.map((q) => q.values.length)).toEqual([4, 4, 2]);
  });
});

describe('readSqlStreams', () => {
  /** Serves rows of an in-memory table page by page, the way the keyset query would. */
  function pagedSession(rows: Array<{ updated_at: string; id: number }>) {
    const queries: SqlQuery[] = [];
    const session: SqlSession = {
      async query(q) {
        queries.push(q);
        const limit = q.values[q.values.length - 1] as number;
        const after = q.values.length > 1 ? (q.values.slice(0, 2) as [string, string]) : undefined;
        const sorted = [...rows].sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id - b.id);
        const page = sorted
          .filter((r) => !after || r.updated_at > after[0] || (r.updated_at === after[0] && r.id > Number(after[1])))
          .slice(0, limit);
        return page.map((r) => ({ ...r, __pip_k0: r.updated_at, __pip_k1: String(r.id) }));
      },
      async *stream() {
        throw new Error('not used');
      },
    };
    return { session, queries };
  }
  const ctx = (over: Partial<ReadContext> = {}): ReadContext => ({
    signal: new AbortController().signal,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    networkGuard: { assertAllowed: async () => {} },
    timeoutMs: 1000,
    state: {},
    batchSize: 2,
    ...over,
  });
  const catalog = { streams: [{ name: 't', fields: [], primaryKey: ['id'], syncMode: 'incremental' as const, cursorField: 'updated_at' }] };
  const rows = [1, 2, 3, 4, 5].map((id) => ({ id, updated_at: id <= 3 ? 'A' : 'B' }));

  async function collect(it: AsyncIterable<ReadMessage>): Promise<ReadMessage[]> {
    const out: ReadMessage[] = [];
    for await (const m of it) out.push(m);
    return out;
  }

  it('checkpoints after each batch and loses no row sharing a cursor value across batches', async () => {
    const { session, queries } = pagedSession(rows);
    const messages = await collect(readSqlStreams({ source: 'x', dialect: ansi, session, catalog, ctx: ctx() }));
    expect(messages.filter((m) => m.type === 'record').map((m) => (m as { data: Record<string, unknown> }).data.id)).toEqual([1, 2, 3, 4, 5]);
    expect(messages.filter((m) => m.type === 'state').map((m) => (m as { state: unknown }).state)).toEqual([
      { cursorField: 'updated_at', cursor: 'A', pk: { id: '2' } },
      { cursorField: 'updated_at', cursor: 'B', pk: { id: '4' } },
      { cursorField: 'updated_at', cursor: 'B', pk: { id: '5' } },
    ]);
    expect(queries[1]!.values).toEqual(['A', '2', 2]);
    expect(messages[0]).toEqual({ type: 'stream_status', stream: 't', status: 'started' });
    expect(messages[messages.length - 1]).toEqual({ type: 'stream_status', stream: 't', status: 'complete' });
    expect(JSON.stringify(messages)).not.toContain('__pip_k');
  });

  it('stops with a cancelled error when the signal is aborted', async () => {
    const ac = new AbortController();
    const { session } = pagedSession(rows);
    const seen: ReadMessage[] = [];
    const run = (async () => {
      for await (const m of readSqlStreams({ source: 'x', dialect: ansi, session, catalog, ctx: ctx({ signal: ac.signal }) })) {
        seen.push(m);
        if (m.type === 'record') ac.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ kind: 'cancelled' });
    expect(seen.filter((m) => m.type === 'record')).toHaveLength(1);
  });
});

describe('createNameFilter', () => {
  it('applies globs, qualified globs and regexes, exclusion first', () => {
    const keep = createNameFilter({ include: ['hr.*', 'users', '/^audit_\\d+$/'], exclude: ['*_tmp'] });
    expect(keep('employees', 'hr')).toBe(true);
    expect(keep('employees', 'sales')).toBe(false);
    expect(keep('USERS', 'sales')).toBe(true);
    expect(keep('audit_2024', 'x')).toBe(true);
    expect(keep('audit_x', 'x')).toBe(false);
    expect(keep('staff_tmp', 'hr')).toBe(false);
    expect(createNameFilter({})('anything', 'x')).toBe(true);
    expect(() => createNameFilter({ include: ['/(/'] })).toThrow(/invalid regular expression/);
  });
});
