/**
 * The connection wizard against the machine's real PostgreSQL and MariaDB, through the REST API:
 * create, test, discover a schema of 10+ tables with composite keys and foreign keys (checked
 * against information_schema), and the test route's distinct, secret-free errors.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createMysqlFixture, createPostgresFixture, testPrincipal, type SourceFixture } from '../helpers/source-fixtures.ts';

const PASSWORD = 'Sup3r-Secret-pw-9d1f';

interface Dialect {
  type: 'postgresql' | 'mysql';
  port: number;
  fixture: () => Promise<SourceFixture>;
  /** base tables with their columns (ordinal order), nullability and primary keys, per information_schema */
  expected(f: SourceFixture): Promise<Map<string, { columns: Array<[string, boolean]>; pk: string[]; fks: number }>>;
  streamKey(s: { name: string; namespace?: string }): string;
  /** a login whose password is checked by the server: [user, password] */
  login(f: SourceFixture): Promise<[string, string]>;
}

const pgDialect: Dialect = {
  type: 'postgresql',
  port: 5432,
  fixture: createPostgresFixture,
  async expected(f) {
    const cols = await f.sql(`select c.table_schema, c.table_name, c.column_name, c.is_nullable from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
      where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog','information_schema') order by c.table_schema, c.table_name, c.ordinal_position`);
    const keys = await f.sql(`select kcu.table_schema, kcu.table_name, kcu.column_name, tc.constraint_type from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.constraint_schema = tc.constraint_schema and kcu.table_name = tc.table_name
      where tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY') order by kcu.ordinal_position`);
    return collect(cols, keys, (schema, table) => (schema === 'public' ? table : `${schema}.${table}`));
  },
  // tables outside the default schema are named schema.table
  streamKey: (s) => s.name,
  async login(f) {
    // this server trusts local TCP logins whatever the password; a role the server does not know is refused for real
    return [testPrincipal('nobody'), PASSWORD];
  },
};

const mysqlDialect: Dialect = {
  type: 'mysql',
  port: 3306,
  fixture: createMysqlFixture,
  async expected(f) {
    const cols = await f.sql(`select c.table_schema, c.table_name, c.column_name, c.is_nullable from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
      where t.table_type = 'BASE TABLE' and c.table_schema = ? order by c.table_name, c.ordinal_position`, [f.database]);
    const keys = await f.sql(`select kcu.table_schema, kcu.table_name, kcu.column_name, tc.constraint_type from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.constraint_schema = tc.constraint_schema and kcu.table_name = tc.table_name
      where tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY') and tc.table_schema = ? order by kcu.ordinal_position`, [f.database]);
    return collect(cols, keys, (_schema, table) => table);
  },
  streamKey: (s) => s.name,
  async login(f) {
    const user = testPrincipal('pip_reader');
    const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    await admin.query(`create user ?@'%' identified by ?`, [user, 'the-right-password']);
    await admin.query(`grant select on \`${f.database}\`.* to ?@'%'`, [user]);
    await admin.end();
    return [user, PASSWORD];
  },
};

function collect(cols: Array<Record<string, any>>, keys: Array<Record<string, any>>, name: (schema: string, table: string) => string) {
  const out = new Map<string, { columns: Array<[string, boolean]>; pk: string[]; fks: number }>();
  const lc = (r: Record<string, any>, k: string) => r[k] ?? r[k.toUpperCase()];
  for (const c of cols) {
    const key = name(lc(c, 'table_schema'), lc(c, 'table_name'));
    if (!out.has(key)) out.set(key, { columns: [], pk: [], fks: 0 });
    out.get(key)!.columns.push([lc(c, 'column_name'), lc(c, 'is_nullable') === 'YES']);
  }
  const fkCols = new Map<string, number>();
  for (const k of keys) {
    const entry = out.get(name(lc(k, 'table_schema'), lc(k, 'table_name')));
    if (!entry) continue;
    if (lc(k, 'constraint_type') === 'PRIMARY KEY') entry.pk.push(lc(k, 'column_name'));
    else fkCols.set(name(lc(k, 'table_schema'), lc(k, 'table_name')), (fkCols.get(name(lc(k, 'table_schema'), lc(k, 'table_name'))) ?? 0) + 1);
  }
  for (const [k, n] of fkCols) out.get(k)!.fks = n;
  return out;
}

describe.each([pgDialect, mysqlDialect])('$type connections through the API', (d) => {
  let t: TestApp;
  let f: SourceFixture;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const config = (over: Record<string, unknown> = {}) => ({ host: '127.0.0.1', port: d.port, database: f.database, user: d.type === 'mysql' ? 'root' : 'postgres', password: '', tlsMode: 'disable', connectTimeoutMs: 3000, ...over });

  beforeAll(async () => {
    f = await d.fixture();
    t = await startTestApp('embedded');
  });
  afterAll(async () => {
    await t?.close();
    await f?.drop();
  });

  it('creates, tests and discovers a schema whose catalog matches information_schema', async () => {
    const c = await api('POST', '/pip/connections', { name: 'db', type: d.type, config: config() });
    expect(c.statusCode, c.body).toBe(201);
    const id = c.json().id;
    const test = (await api('POST', `/pip/connections/${id}/test`)).json();
    expect(test).toMatchObject({ ok: true, error: null });
    expect(test.latency_ms).toBeGreaterThanOrEqual(0);

    const catalog = await api('POST', `/pip/connections/${id}/discover`);
    expect(catalog.statusCode, catalog.body).toBe(200);
    const streams = new Map<string, any>(catalog.json().streams.map((s: any) => [d.streamKey(s), s]));
    const expected = await d.expected(f);
    expect(expected.size).toBeGreaterThanOrEqual(10);
    expect([...expected.values()].some((e) => e.pk.length > 1)).toBe(true);
    expect([...expected.values()].some((e) => e.fks > 0)).toBe(true);
    for (const [table, e] of expected) {
      const s = streams.get(table);
      expect(s, `stream ${table}`).toBeDefined();
      expect(s.fields.map((x: any) => [x.name, x.nullable]), `fields of ${table}`).toEqual(e.columns);
      expect([...s.primaryKey].sort(), `primary key of ${table}`).toEqual([...e.pk].sort());
      expect(s.relations.reduce((n: number, r: any) => n + r.fields.length, 0), `foreign key columns of ${table}`).toBe(e.fks);
    }
  });

  it('gives distinct, actionable errors for a bad password, an unreachable host and a metadata address, never echoing the password', async () => {
    const [user, wrong] = await d.login(f);
    const cases = [
      { config: config({ user, password: wrong }), code: 'PIP_SOURCE_AUTH_FAILED' },
      { config: config({ port: 1, password: PASSWORD }), code: 'PIP_SOURCE_UNREACHABLE' },
      { config: config({ host: '169.254.169.254', password: PASSWORD }), code: 'PIP_SOURCE_ADDRESS_BLOCKED' },
    ];
    const seen = new Set<string>();
    for (const c of cases) {
      const r = await api('POST', '/pip/connections/test', { type: d.type, config: c.config });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.ok).toBe(false);
      expect(body.error.code).toBe(c.code);
      expect(body.error.hint.length).toBeGreaterThan(10);
      expect(r.body).not.toContain(PASSWORD);
      seen.add(body.error.code);
    }
    expect(seen.size).toBe(3);

    // a saved connection whose password is wrong reports the same, and never shows the password either
    const saved = await api('POST', '/pip/connections', { name: 'wrong', type: d.type, config: config({ user, password: wrong }) });
    expect(saved.json().config.password).toBe('********');
    const r = await api('POST', `/pip/connections/${saved.json().id}/test`);
    expect(r.json().error.code).toBe('PIP_SOURCE_AUTH_FAILED');
    expect(r.body).not.toContain(PASSWORD);
    const logs = await api('GET', `/pip/audit/logs?connection_id=${saved.json().id}`);
    expect(logs.body).not.toContain(PASSWORD);
  });
});
