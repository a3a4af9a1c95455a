/** The MySQL / MariaDB connector against the real MariaDB 10.11 on 127.0.0.1:3306. */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  createMysqlFixture,
  failure,
  FIXTURE,
  fixtureTime,
  HOSTILE_COLUMN,
  HOSTILE_TABLE,
  recordsOf,
  statesOf,
  testPrincipal,
  testReadContext,
  type SourceFixture,
} from '../../test/helpers/source-fixtures.ts';
import type { CatalogStream, ConfiguredStream, FieldType, ReadContext } from '../sdk/types.ts';
import { classifyMysqlError } from './client.ts';
import connector from './index.ts';

let fx: SourceFixture;
const users: string[] = [];

const config = (over: Record<string, unknown> = {}) =>
  ({ host: '127.0.0.1', port: 3306, database: fx.database, user: 'root', password: '', tlsMode: 'disable', ...over }) as never;

function configured(stream: CatalogStream, over: Partial<ConfiguredStream> = {}): ConfiguredStream {
  return { name: stream.name, namespace: stream.namespace, fields: [], primaryKey: stream.primaryKey, syncMode: 'full', ...over };
}

let catalog: CatalogStream[];
const stream = (name: string): CatalogStream => {
  const found = catalog.find((s) => s.name === name);
  if (!found) throw new Error(`stream ${name} not in catalog`);
  return found;
};
const read = (streams: ConfiguredStream[], ctx: Partial<ReadContext> = {}, cfg = config()) =>
  collect(connector.read(cfg, { streams }, testReadContext(ctx)));

async function createUser(password: string): Promise<string> {
  const name = testPrincipal('pip_u');
  users.push(name);
  await fx.sql(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
  return name;
}

beforeAll(async () => {
  fx = await createMysqlFixture();
  catalog = (await connector.discover(config(), testReadContext())).streams;
});

afterAll(async () => {
  for (const user of users) await fx.sql(`DROP USER IF EXISTS '${user}'@'%'`);
  await fx?.drop();
});

describe('mysql check', () => {
  it('proves the connection and reports what it can see', async () => {
    const details = await connector.check(config(), testReadContext());
    const [{ n }] = (await fx.sql('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [fx.database])) as [{ n: number }];
    expect(details).toMatchObject({ database: fx.database, tls: false, visibleTables: Number(n) });
    expect(details.flavour).toBe(/mariadb/i.test(String(details.serverVersion)) ? 'mariadb' : 'mysql');
    expect(String(details.user)).toMatch(/^root@/);
  });
});

describe('mysql discover matches information_schema', () => {
  const EXPECTED_TYPE: Record<string, FieldType> = {
    int: 'integer',
    bigint: 'integer',
    varchar: 'string',
    text: 'string',
    longtext: 'string', // MariaDB's JSON is LONGTEXT with a check
    json: 'json',
    tinyint: 'boolean', // only tinyint(1) in the fixture
    decimal: 'number',
    date: 'date',
    datetime: 'datetime',
  };

  it('lists every table and view with its kind', async () => {
    const tables = await fx.sql('SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [fx.database]);
    const expected = tables.map((t) => ({ name: t.name, namespace: fx.database, kind: t.type === 'VIEW' ? 'view' : 'table' }));
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(catalog.map((s) => ({ name: s.name, namespace: s.namespace, kind: s.kind })).sort(byName)).toEqual(expected.sort(byName));
    expect(catalog.length).toBeGreaterThanOrEqual(14);
  });

  it('reports every column in order with type, source type and nullability', async () => {
    const columns = await fx.sql(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, IS_NULLABLE AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [fx.database],
    );
    for (const s of catalog) {
      const expected = columns.filter((c) => c.t === s.name);
      expect(s.fields.map((f) => f.name), s.name).toEqual(expected.map((c) => c.c));
      s.fields.forEach((f, i) => {
        const c = expected[i]!;
        expect(f.nullable, `${s.name}.${f.name}`).toBe(c.nullable === 'YES');
        expect(f.sourceType).toBe(c.column_type);
        expect(f.type, `${s.name}.${f.name} ${c.column_type}`).toBe(EXPECTED_TYPE[c.data_type as string]);
      });
    }
  });

  it('reports primary keys, composite ones in key order', async () => {
    const keys = await fx.sql(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
      [fx.database],
    );
    for (const s of catalog) expect(s.primaryKey, s.name).toEqual(keys.filter((k) => k.t === s.name).map((k) => k.c));
    expect(stream('memberships').primaryKey).toEqual(['org_id', 'group_id', 'user_id']);
  });

  it('reports foreign keys as relations, composite ones column by column', async () => {
    const fks = await fx.sql(
      `SELECT rc.TABLE_NAME AS t, rc.CONSTRAINT_NAME AS name, rc.REFERENCED_TABLE_NAME AS ref, k.COLUMN_NAME AS c, k.REFERENCED_COLUMN_NAME AS rcol
       FROM information_schema.REFERENTIAL_CONSTRAINTS rc
       JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA
         AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME AND k.TABLE_NAME = rc.TABLE_NAME
       WHERE rc.CONSTRAINT_SCHEMA = ? ORDER BY rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
      [fx.database],
    );
    for (const s of catalog) {
      const mine = fks.filter((f) => f.t === s.name);
      const names = [...new Set(mine.map((f) => f.name as string))].sort();
      expect(s.relations, s.name).toEqual(
        names.map((name) => {
          const cols = mine.filter((f) => f.name === name);
          return { name, fields: cols.map((f) => f.c), references: { stream: cols[0]!.ref, namespace: fx.database, fields: cols.map((f) => f.rcol) } };
        }),
      );
    }
    expect(stream('project_members').relations[0]).toMatchObject({ fields: ['org_id', 'project_key'], references: { stream: 'projects' } });
  });

  it('suggests cursors and sensitivities from names and types', () => {
    const u = stream('users');
    expect(u.cursorCandidates).toEqual(['updated_at', 'id']);
    const sensitivity = Object.fromEntries(u.fields.map((f) => [f.name, f.suggestedSensitivity]));
    expect(sensitivity).toMatchObject({ password_hash: 'restricted', email: 'confidential', first_name: 'internal', is_active: 'internal' });
    expect(stream('active_users')).toMatchObject({ kind: 'view', primaryKey: [] });
  });

  it('discovers the hostile table and column by their real names', () => {
    expect(stream(HOSTILE_TABLE).fields.map((f) => f.name)).toEqual(['id', HOSTILE_COLUMN, 'updated_at']);
  });

  it('applies table include / exclude filters', async () => {
    const { streams } = await connector.discover(config({ includeTables: ['*roles*', 'groups'], excludeTables: ['/^role_/'] }), testReadContext());
    expect(streams.map((s) => s.name)).toEqual(['groups', 'roles', 'user_roles']);
  });

  it('shows a user exactly the tables it may read, and refuses the others as a permission error', async () => {
    const password = `Pw-${testPrincipal('p')}`;
    const user = await createUser(password);
    await fx.sql(`GRANT SELECT ON \`${fx.database}\`.memberships TO '${user}'@'%'`);
    const { streams } = await connector.discover(config({ user, password }), testReadContext());
    expect(streams.map((s) => [s.name, s.primaryKey])).toEqual([['memberships', ['org_id', 'group_id', 'user_id']]]);
    const err = await failure(read([configured(stream('users'))], {}, config({ user, password })));
    expect(err).toMatchObject({ kind: 'permission', detail: { code: 'ER_TABLEACCESS_DENIED_ERROR' } });
  });
});

describe('mysql errors', () => {
  const secret = `Pw-${testPrincipal('s')}-!`;

  it('refuses a wrong password as an auth failure, without either password', async () => {
    const user = await createUser(secret);
    const wrong = `${secret}-wrong`;
    const err = await failure(connector.check(config({ user, password: wrong }), testReadContext()));
    expect(err).toMatchObject({ kind: 'auth', source: 'mysql', detail: { code: 'ER_ACCESS_DENIED_ERROR' } });
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('reports a database the user has no grant on as a permission error', async () => {
    const user = await createUser(secret);
    const err = await failure(connector.check(config({ user, password: secret }), testReadContext()));
    expect(err).toMatchObject({ kind: 'permission', detail: { code: 'ER_DBACCESS_DENIED_ERROR' } });
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('reports a database that does not exist as a config error', async () => {
    const err = await failure(connector.check(config({ database: 'no_such_db_pip' }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config', detail: { code: 'ER_BAD_DB_ERROR' } });
  });

  it('maps MySQL error codes', () => {
    expect(['ER_ACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_TABLEACCESS_DENIED_ERROR', 'ER_QUERY_TIMEOUT', 'ER_LOCK_DEADLOCK'].map((code) => classifyMysqlError({ code }))).toEqual([
      'auth', 'config', 'permission', 'timeout', 'transient',
    ]);
    expect(classifyMysqlError({ errno: 1969 })).toBe('timeout'); // MariaDB max_statement_time, no code name in mysql2
  });

  it('reports a closed port as unreachable', async () => {
    const err = await failure(connector.check(config({ port: 1, password: secret }), testReadContext()));
    expect(err.kind).toBe('unreachable');
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('refuses the cloud metadata address before connecting', async () => {
    const err = await failure(connector.check(config({ host: '169.254.169.254', connectTimeoutMs: 500, password: secret }), testReadContext()));
    // the guard's own error: a connection attempt would have ended as a timeout from 'mysql'
    expect(err).toMatchObject({ kind: 'blocked', source: 'network' });
    expect(err.message).not.toContain(secret);
  });

  it('reports TLS against a server without TLS as a tls error', async () => {
    const err = await failure(connector.check(config({ tlsMode: 'require' }), testReadContext()));
    expect(err.kind).toBe('tls');
  });

  it('reports a statement running past the statement timeout as a timeout', async () => {
    await fx.sql('CREATE VIEW slow_view AS SELECT 1 AS id, SLEEP(3) AS s');
    try {
      const slow = { name: 'slow_view', fields: [], primaryKey: [], syncMode: 'full' as const };
      const err = await failure(read([slow], {}, config({ statementTimeoutMs: 1000 })));
      expect(err.kind).toBe('timeout');
      expect(err.message).toMatch(/max_statement_time|execution time/i);
    } finally {
      await fx.sql('DROP VIEW slow_view');
    }
  });
});

describe('mysql read', () => {
  it('reads every row of every table exactly once, in bounded batches', async () => {
    const tables = catalog.filter((s) => s.kind === 'table');
    const messages = await read(tables.map((s) => configured(s)), { batchSize: 4 });
    for (const s of tables) {
      const [{ n }] = (await fx.sql(`SELECT COUNT(*) AS n FROM \`${s.name.replace(/`/g, '``')}\``)) as [{ n: number }];
      expect(recordsOf(messages, s.name), s.name).toHaveLength(Number(n));
    }
    const rows = recordsOf(messages, 'users');
    const expected = await fx.sql('SELECT id, email, salary FROM users ORDER BY id');
    expect(rows.map((u) => [u.id, u.email, u.salary])).toEqual(expected.map((e) => [e.id, e.email, Number(e.salary)]));
    expect(rows[0]).toMatchObject({ updated_at: `${fixtureTime(0).replace(' ', 'T')}Z`, is_active: true, date_of_birth: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
  });

  it('reads incrementally: all rows first, then only the updated ones, never losing cursor ties', async () => {
    const u = configured(stream('users'), { syncMode: 'incremental', cursorField: 'updated_at' });
    const first = await read([u], { batchSize: 4 });
    expect(recordsOf(first, 'users').map((r) => r.id)).toEqual(Array.from({ length: FIXTURE.users }, (_, i) => i + 1));
    const states = statesOf(first, 'users');
    const resumed = await read([u], { batchSize: 3, state: { users: states[1] } });
    expect(recordsOf(resumed, 'users').map((r) => r.id)).toEqual(Array.from({ length: FIXTURE.users - 8 }, (_, i) => i + 9));

    const changed = [3, 8, 13, 21, 29];
    await fx.sql('UPDATE users SET first_name = ?, updated_at = ? WHERE id IN (?)', ['Changed', fixtureTime(3600), changed]);
    const second = await read([u], { batchSize: 2, state: { users: states.at(-1) } });
    expect(recordsOf(second, 'users').map((r) => [r.id, r.first_name])).toEqual(changed.map((id) => [id, 'Changed']));
    const third = await read([u], { batchSize: 2, state: { users: statesOf(second, 'users').at(-1) } });
    expect(recordsOf(third, 'users')).toEqual([]);
  });

  it('reads a keyless table and a view in one streamed query', async () => {
    const messages = await read([configured(stream('audit_log')), configured(stream('active_users'))], { batchSize: 2 });
    expect(recordsOf(messages, 'audit_log').map((r) => r.action)).toEqual(Array.from({ length: FIXTURE.auditRows }, (_, i) => `action-${i}`));
    const [{ n }] = (await fx.sql('SELECT COUNT(*) AS n FROM users WHERE is_active')) as [{ n: number }];
    expect(recordsOf(messages, 'active_users')).toHaveLength(Number(n));
  });

  it('reads targeted keys, composite ones included', async () => {
    const keys = [{ org_id: 2, project_key: 'P1', user_id: 1 }, { org_id: 1, project_key: 'P1', user_id: 3 }, { org_id: 1, project_key: 'P2', user_id: 3 }];
    const messages = await read([configured(stream('project_members'))], { hints: [{ stream: 'project_members', keys }] });
    const expected = await fx.sql(
      "SELECT org_id, project_key, user_id FROM project_members WHERE (org_id, project_key, user_id) IN ((2, 'P1', 1), (1, 'P1', 3), (1, 'P2', 3)) ORDER BY user_id",
    );
    const key = (r: Record<string, unknown>) => `${r.org_id}/${r.project_key}/${r.user_id}`;
    expect(recordsOf(messages, 'project_members').map(key).sort()).toEqual(expected.map(key).sort());
    expect(expected.length).toBeGreaterThan(0);
  });

  it('reads the hostile table without side effects', async () => {
    const hostile = stream(HOSTILE_TABLE);
    const messages = await read([configured(hostile, { syncMode: 'incremental', cursorField: 'updated_at', fields: [HOSTILE_COLUMN] })], { batchSize: 2 });
    expect(recordsOf(messages, HOSTILE_TABLE).map((r) => r[HOSTILE_COLUMN])).toEqual(
      Array.from({ length: FIXTURE.hostileRows }, (_, i) => `'); DROP TABLE x; -- ${i}`),
    );
    const targeted = await read([configured(hostile)], { hints: [{ stream: HOSTILE_TABLE, keys: [{ [HOSTILE_COLUMN]: "'); DROP TABLE x; -- 2" }] }] });
    expect(recordsOf(targeted, HOSTILE_TABLE).map((r) => r.id)).toEqual([3]);
    expect(await fx.sql('SELECT id FROM x')).toEqual([{ id: 1 }]);
  });
});

describe('mysql cancellation', () => {
  const connections = async () =>
    Number(((await fx.sql('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [fx.database])) as [{ n: number }])[0].n);

  async function settled(): Promise<number> {
    for (let i = 0; i < 40 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    return connections();
  }

  it('stops reading when the signal is aborted and closes its connections', async () => {
    const ac = new AbortController();
    let records = 0;
    const run = (async () => {
      for await (const m of connector.read(config(), { streams: [configured(stream('users'))] }, testReadContext({ signal: ac.signal, batchSize: 5 }))) {
        if (m.type === 'record' && ++records === 3) ac.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ kind: 'cancelled' });
    expect(records).toBe(3);
    expect(await settled()).toBe(0);
  });

  it('drops a half-read streamed result when the consumer stops early', async () => {
    for await (const m of connector.read(config(), { streams: [configured(stream('audit_log'))] }, testReadContext({ batchSize: 2 }))) {
      if (m.type === 'record') break;
    }
    expect(await settled()).toBe(0);
  });
});
