/**
 * The PostgreSQL connector against the real server on 127.0.0.1:5432 (trust auth for TCP from
 * 127.0.0.1, so a wrong password is accepted there: auth failures are proven with a role that may
 * not log in and a role that does not exist — both real server rejections, SQLSTATE 28000 — and
 * 28P01 by the SQLSTATE mapping below).
 */
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  createPostgresFixture,
  failure,
  FIXTURE,
  fixtureTime,
  HOSTILE_COLUMN,
  HOSTILE_TABLE,
  PG_ADMIN,
  recordsOf,
  statesOf,
  testPrincipal,
  testReadContext,
  type SourceFixture,
} from '../../test/helpers/source-fixtures.ts';
import { mapDriverError } from '../sdk/driver-errors.ts';
import type { CatalogStream, ConfiguredStream, FieldType, ReadContext } from '../sdk/types.ts';
import { classifyPostgresError } from './client.ts';
import connector from './index.ts';

let fx: SourceFixture;
const roles: string[] = [];

const config = (over: Record<string, unknown> = {}) =>
  ({ host: '127.0.0.1', port: 5432, database: fx.database, user: 'postgres', password: '', tlsMode: 'disable', schemas: ['public', 'hr'], ...over }) as never;

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

beforeAll(async () => {
  fx = await createPostgresFixture();
  catalog = (await connector.discover(config(), testReadContext())).streams;
});

afterAll(async () => {
  await fx?.drop();
  const admin = new pg.Client({ ...PG_ADMIN, database: 'postgres' });
  await admin.connect();
  for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
});

describe('postgresql check', () => {
  it('proves the connection and reports what it can see', async () => {
    const details = await connector.check(config(), testReadContext());
    const [{ count }] = (await fx.sql(
      "SELECT count(*)::int AS count FROM information_schema.tables WHERE table_schema IN ('public', 'hr')",
    )) as [{ count: number }];
    expect(details).toMatchObject({ database: fx.database, user: 'postgres', tls: false, visibleTables: count });
    expect(String(details.serverVersion)).toMatch(/^\d+/);
  });

  it('names a configured schema that does not exist', async () => {
    const err = await failure(connector.check(config({ schemas: ['public', 'nope'] }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config' });
    expect(err.message).toContain('nope');
  });
});

describe('postgresql discover matches information_schema', () => {
  const EXPECTED_TYPE: Record<string, FieldType> = {
    integer: 'integer',
    bigint: 'integer',
    'character varying': 'string',
    text: 'string',
    boolean: 'boolean',
    numeric: 'number',
    date: 'date',
    jsonb: 'json',
    'timestamp with time zone': 'datetime',
  };

  it('lists every table and view with its kind', async () => {
    const tables = await fx.sql("SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema IN ('public', 'hr')");
    const expected = tables.map((t) => ({
      name: t.table_schema === 'public' ? t.table_name : `${t.table_schema}.${t.table_name}`,
      namespace: t.table_schema,
      kind: t.table_type === 'VIEW' ? 'view' : 'table',
    }));
    expect(catalog.map((s) => ({ name: s.name, namespace: s.namespace, kind: s.kind })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      expected.sort((a, b) => String(a.name).localeCompare(String(b.name))),
    );
    expect(catalog.length).toBeGreaterThanOrEqual(15);
  });

  it('reports every column in order with type, source type and nullability', async () => {
    const columns = await fx.sql(
      `SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema IN ('public', 'hr') ORDER BY table_schema, table_name, ordinal_position`,
    );
    for (const s of catalog) {
      const expected = columns.filter((c) => c.table_schema === s.namespace && `${s.namespace === 'public' ? '' : `${s.namespace}.`}${c.table_name}` === s.name);
      expect(s.fields.map((f) => f.name), s.name).toEqual(expected.map((c) => c.column_name));
      s.fields.forEach((f, i) => {
        const c = expected[i]!;
        expect(f.nullable, `${s.name}.${f.name}`).toBe(c.is_nullable === 'YES');
        expect(f.type, `${s.name}.${f.name}`).toBe(EXPECTED_TYPE[c.data_type as string]);
        expect(f.sourceType === c.data_type || f.sourceType.startsWith(`${c.data_type}(`), `${f.sourceType} vs ${c.data_type}`).toBe(true);
      });
    }
  });

  it('reports primary keys, composite ones in key order', async () => {
    const keys = await fx.sql(
      `SELECT kcu.table_schema, kcu.table_name, kcu.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
         AND kcu.table_name = tc.table_name
       WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema IN ('public', 'hr') ORDER BY kcu.ordinal_position`,
    );
    for (const s of catalog) {
      const table = s.name.replace(/^hr\./, '');
      expect(s.primaryKey, s.name).toEqual(keys.filter((k) => k.table_schema === s.namespace && k.table_name === table).map((k) => k.column_name));
    }
    expect(stream('memberships').primaryKey).toEqual(['org_id', 'group_id', 'user_id']);
  });

  it('reports foreign keys as relations, composite ones column by column', async () => {
    const fks = await fx.sql(
      `SELECT kcu.table_schema, kcu.table_name, kcu.constraint_name, kcu.column_name,
              ref.table_schema AS ref_schema, ref.table_name AS ref_table, ref.column_name AS ref_column
       FROM information_schema.referential_constraints rc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = rc.constraint_name
       JOIN information_schema.key_column_usage ref ON ref.constraint_schema = rc.unique_constraint_schema
         AND ref.constraint_name = rc.unique_constraint_name AND ref.ordinal_position = kcu.position_in_unique_constraint
       WHERE kcu.table_schema IN ('public', 'hr') ORDER BY kcu.constraint_name, kcu.ordinal_position`,
    );
    const expected = new Map<string, unknown[]>();
    for (const fk of fks) {
      const from = fk.table_schema === 'public' ? fk.table_name : `${fk.table_schema}.${fk.table_name}`;
      const list = expected.get(from as string) ?? [];
      const existing = list.find((r) => (r as { name: string }).name === fk.constraint_name) as
        | { fields: unknown[]; references: { fields: unknown[] } }
        | undefined;
      if (existing) {
        existing.fields.push(fk.column_name);
        existing.references.fields.push(fk.ref_column);
      } else {
        list.push({
          name: fk.constraint_name,
          fields: [fk.column_name],
          references: { stream: fk.ref_schema === 'public' ? fk.ref_table : `${fk.ref_schema}.${fk.ref_table}`, namespace: fk.ref_schema, fields: [fk.ref_column] },
        });
      }
      expected.set(from as string, list);
    }
    for (const s of catalog) expect(s.relations, s.name).toEqual(expected.get(s.name) ?? []);
    expect(stream('memberships').relations[0]).toMatchObject({ fields: ['org_id', 'group_id'], references: { stream: 'groups', fields: ['org_id', 'group_id'] } });
    expect(stream('hr.employees').relations[0]).toMatchObject({ references: { stream: 'users', namespace: 'public' } });
  });

  it('suggests cursors and sensitivities from names and types', () => {
    const users = stream('users');
    expect(users.cursorCandidates).toEqual(['updated_at', 'id']);
    expect(users.supportedSyncModes).toEqual(['full', 'incremental']);
    const sensitivity = Object.fromEntries(users.fields.map((f) => [f.name, f.suggestedSensitivity]));
    expect(sensitivity).toMatchObject({ password_hash: 'restricted', email: 'confidential', salary: 'confidential', date_of_birth: 'confidential', first_name: 'internal', updated_at: 'public' });
    expect(stream('audit_log')).toMatchObject({ primaryKey: [], cursorCandidates: [], supportedSyncModes: ['full'] });
    expect(stream('users').estimatedRows).toBe(FIXTURE.users);
  });

  it('discovers the hostile table and column by their real names', () => {
    expect(stream(HOSTILE_TABLE).fields.map((f) => f.name)).toEqual(['id', HOSTILE_COLUMN, 'updated_at']);
  });

  it('applies table include / exclude filters', async () => {
    const { streams } = await connector.discover(config({ includeTables: ['user*', 'hr.*'], excludeTables: ['/_roles$/'] }), testReadContext());
    expect(streams.map((s) => s.name)).toEqual(['hr.employees', 'users']);
  });

  it('shows a read-only role exactly the tables it may read, with their keys', async () => {
    const role = testPrincipal('pip_reader');
    roles.push(role);
    await fx.sql(`CREATE ROLE ${role} LOGIN`);
    await fx.sql(`GRANT SELECT ON memberships TO ${role}`);
    const { streams } = await connector.discover(config({ user: role }), testReadContext());
    expect(streams.map((s) => s.name)).toEqual(['memberships']);
    expect(streams[0]!.primaryKey).toEqual(['org_id', 'group_id', 'user_id']);
    const err = await failure(read([configured(stream('users'))], {}, config({ user: role })));
    expect(err).toMatchObject({ kind: 'permission', detail: { code: '42501' } });
  });
});

describe('postgresql errors', () => {
  const secret = `Pw-${testPrincipal('s')}-!`;

  it('refuses a role that may not log in as an auth failure, without the password', async () => {
    const role = testPrincipal('pip_nologin');
    roles.push(role);
    await fx.sql(`CREATE ROLE ${role} NOLOGIN PASSWORD '${secret}'`);
    const err = await failure(connector.check(config({ user: role, password: secret }), testReadContext()));
    expect(err).toMatchObject({ kind: 'auth', source: 'postgresql' });
    expect(err.message).not.toContain(secret);
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('refuses a role that does not exist as an auth failure', async () => {
    const err = await failure(connector.check(config({ user: 'no_such_role_pip', password: secret }), testReadContext()));
    expect(err).toMatchObject({ kind: 'auth', detail: { code: '28000' } });
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('maps SQLSTATEs and scrubs secrets from driver messages', () => {
    const classify = (code: string) => classifyPostgresError({ code, severity: 'FATAL' });
    expect(['28P01', '28000', '3D000', '42501', '57014', '08006', '53300'].map(classify)).toEqual([
      'auth', 'auth', 'config', 'permission', 'timeout', 'unreachable', 'transient',
    ]);
    const err = mapDriverError('postgresql', Object.assign(new Error(`password authentication failed near "${secret}"`), { code: '28P01', severity: 'FATAL' }), {
      target: 'db:5432', secrets: [secret], classify: classifyPostgresError,
    });
    expect(err.kind).toBe('auth');
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('reports a database that does not exist as a config error', async () => {
    const err = await failure(connector.check(config({ database: 'no_such_db_pip' }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config', detail: { code: '3D000' } });
  });

  it('reports a closed port as unreachable', async () => {
    const err = await failure(connector.check(config({ port: 1, password: secret }), testReadContext()));
    expect(err.kind).toBe('unreachable');
    expect(err.message).not.toContain(secret);
  });

  it('refuses the cloud metadata address before connecting', async () => {
    let guardCalls = 0;
    const guard = { assertAllowed: (host: string) => testReadContext().networkGuard.assertAllowed(host).finally(() => (guardCalls += 1)) };
    const err = await failure(connector.check(config({ host: '169.254.169.254', connectTimeoutMs: 500, password: secret }), testReadContext({ networkGuard: guard })));
    // the guard's own error: a connection attempt would have ended as a timeout from 'postgresql'
    expect(err).toMatchObject({ kind: 'blocked', source: 'network' });
    expect(guardCalls).toBe(1);
    expect(err.message).not.toContain(secret);
    const readErr = await failure(read([configured(stream('users'))], {}, config({ host: '169.254.169.254', connectTimeoutMs: 500 })));
    expect(readErr).toMatchObject({ kind: 'blocked', source: 'network' });
  });

  it('reports TLS verification against a server without TLS as a tls error', async () => {
    const err = await failure(connector.check(config({ tlsMode: 'verify-full' }), testReadContext()));
    expect(err.kind).toBe('tls');
  });

  it('reports a statement running past the statement timeout as a timeout', async () => {
    await fx.sql('CREATE VIEW slow_view AS SELECT 1 AS id, pg_sleep(3)::text AS s');
    try {
      const slow = { name: 'slow_view', namespace: 'public', fields: [], primaryKey: [], syncMode: 'full' as const };
      const err = await failure(read([slow], {}, config({ statementTimeoutMs: 1000 })));
      expect(err).toMatchObject({ kind: 'timeout', detail: { code: '57014' } });
    } finally {
      await fx.sql('DROP VIEW slow_view');
    }
  });

  it('rejects an invalid config without echoing it', async () => {
    const err = await failure(connector.check({ host: '127.0.0.1', database: 'x', user: 'u', password: 5 } as never, testReadContext()));
    expect(err).toMatchObject({ kind: 'config' });
  });
});

describe('postgresql read', () => {
  it('reads every row of every table exactly once, in bounded batches', async () => {
    const tables = catalog.filter((s) => s.kind === 'table');
    const messages = await read(tables.map((s) => configured(s)), { batchSize: 4 });
    for (const s of tables) {
      const ns = s.namespace === 'public' ? '' : `"${s.namespace}".`;
      const [{ count }] = (await fx.sql(`SELECT count(*)::int AS count FROM ${ns}"${s.name.replace(/^hr\./, '').replace(/"/g, '""')}"`)) as [{ count: number }];
      expect(recordsOf(messages, s.name), s.name).toHaveLength(count);
    }
    const users = recordsOf(messages, 'users');
    const expected = await fx.sql('SELECT id::int AS id, email, salary::text AS salary FROM users ORDER BY id');
    expect(users.map((u) => ({ id: u.id, email: u.email, salary: String(u.salary) }))).toEqual(
      expected.map((e) => ({ id: e.id, email: e.email, salary: String(Number(e.salary)) })),
    );
    expect(users[0]).toMatchObject({ updated_at: `${fixtureTime(0).replace(' ', 'T')}Z`, profile: { u: 1 }, is_active: true, date_of_birth: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(messages.filter((m) => m.type === 'stream_status')).toHaveLength(tables.length * 2);
  });

  it('reads only the selected fields plus the key', async () => {
    const messages = await read([configured(stream('users'), { fields: ['email'] })]);
    expect(Object.keys(recordsOf(messages, 'users')[0]!)).toEqual(['id', 'email']);
  });

  it('reads incrementally: all rows first, then only the updated ones, never losing cursor ties', async () => {
    const users = configured(stream('users'), { syncMode: 'incremental', cursorField: 'updated_at' });
    const first = await read([users], { batchSize: 4 });
    expect(recordsOf(first, 'users').map((r) => r.id)).toEqual(Array.from({ length: FIXTURE.users }, (_, i) => i + 1));
    const states = statesOf(first, 'users');
    expect(states).toHaveLength(Math.ceil(FIXTURE.users / 4));

    // resume from a checkpoint taken in the middle of a run of equal timestamps
    const mid = states[1]!; // after ids 1..8, all sharing the first timestamp with 9 and 10
    const resumed = await read([users], { batchSize: 3, state: { users: mid } });
    expect(recordsOf(resumed, 'users').map((r) => r.id)).toEqual(Array.from({ length: FIXTURE.users - 8 }, (_, i) => i + 9));

    const changed = [3, 8, 13, 21, 29];
    await fx.sql(`UPDATE users SET first_name = 'Changed', updated_at = $1 WHERE id = ANY($2)`, [fixtureTime(3600), changed]);
    const second = await read([users], { batchSize: 2, state: { users: states[states.length - 1] } });
    expect(recordsOf(second, 'users').map((r) => [r.id, r.first_name])).toEqual(changed.map((id) => [id, 'Changed']));
    expect(statesOf(second, 'users').at(-1)).toMatchObject({ cursorField: 'updated_at', pk: { id: '29' } });

    const third = await read([users], { batchSize: 2, state: { users: statesOf(second, 'users').at(-1) } });
    expect(recordsOf(third, 'users')).toEqual([]);
  });

  it('reads a keyless table and a view in one streamed query', async () => {
    const messages = await read([configured(stream('audit_log')), configured(stream('active_users'))], { batchSize: 2 });
    expect(recordsOf(messages, 'audit_log')).toHaveLength(FIXTURE.auditRows);
    const [{ count }] = (await fx.sql('SELECT count(*)::int AS count FROM users WHERE is_active')) as [{ count: number }];
    expect(recordsOf(messages, 'active_users')).toHaveLength(count);
    const incremental = await read([configured(stream('audit_log'), { syncMode: 'incremental', cursorField: 'event_time' })], {
      state: { audit_log: { cursorField: 'event_time', cursor: fixtureTime(4) } },
    });
    expect(recordsOf(incremental, 'audit_log').map((r) => r.action)).toEqual(['action-5', 'action-6']);
  });

  it('reads targeted keys, composite ones included', async () => {
    const keys = [{ org_id: 2, group_id: 2, user_id: 1 }, { org_id: 1, group_id: 1, user_id: 3 }, { org_id: 1, group_id: 3, user_id: 999 }];
    const messages = await read([configured(stream('memberships'))], { hints: [{ stream: 'memberships', keys }] });
    const rows = recordsOf(messages, 'memberships').map((r) => [r.org_id, r.group_id, r.user_id]).sort();
    const expected = await fx.sql(
      'SELECT org_id, group_id, user_id::int AS user_id FROM memberships WHERE (org_id, group_id, user_id) IN ((2, 2, 1), (1, 1, 3), (1, 3, 999))',
    );
    expect(rows).toEqual(expected.map((e) => [e.org_id, e.group_id, e.user_id]).sort());
    expect(rows.length).toBeGreaterThan(0);
    expect(statesOf(messages, 'memberships')).toEqual([]);
  });

  it('reads the hostile table without side effects', async () => {
    const hostile = stream(HOSTILE_TABLE);
    const messages = await read([
      configured(hostile, { syncMode: 'incremental', cursorField: 'updated_at', fields: [HOSTILE_COLUMN] }),
    ], { batchSize: 2, hints: undefined });
    expect(recordsOf(messages, HOSTILE_TABLE).map((r) => r[HOSTILE_COLUMN])).toEqual(
      Array.from({ length: FIXTURE.hostileRows }, (_, i) => `'); DROP TABLE x; -- ${i}`),
    );
    const targeted = await read([configured(hostile)], { hints: [{ stream: HOSTILE_TABLE, keys: [{ id: 2 }, { [HOSTILE_COLUMN]: "'); DROP TABLE x; -- 0" }] }] });
    expect(recordsOf(targeted, HOSTILE_TABLE).map((r) => r.id).sort()).toEqual([1, 2]);
    expect(await fx.sql('SELECT id FROM x')).toEqual([{ id: 1 }]);
  });
});

describe('postgresql cancellation', () => {
  const connections = async () =>
    ((await fx.sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pip-service'", [fx.database])) as [{ n: number }])[0].n;

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

  it('closes the cursor and connection when the consumer stops early', async () => {
    for await (const m of connector.read(config(), { streams: [configured(stream('audit_log'))] }, testReadContext({ batchSize: 2 }))) {
      if (m.type === 'record') break;
    }
    expect(await settled()).toBe(0);
  });
});
