/**
 * One code path for SQL: knex with the `pg` client, either on the embedded PostgreSQL (PGlite,
 * file data dir, one connection) or on a real PostgreSQL from DATABASE_URL.
 *
 * Tenant isolation is enforced twice: repositories filter by tenant, and every transaction the
 * service opens switches to a non-superuser role (`SET LOCAL ROLE`) under which PostgreSQL's
 * row-level security only shows rows of `app.tenant_id` (or all rows in the explicit system scope
 * used by cross-tenant work such as authentication and the scheduler).
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// int8 (counts, bigserial) as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric stays a string (exact); timestamps as Date (default).

export type DatabaseKind = 'embedded' | 'postgres';
export type Executor = Knex | Knex.Transaction;

export interface Database {
  kind: DatabaseKind;
  /** owner connection: migrations, maintenance. Service code uses withTenant / withSystem. */
  knex: Knex;
  appRole: string;
  withTenant<T>(tenantId: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  withSystem<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  ping(): Promise<number>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  appRole: string;
  /** embedded only: keep the database in memory (tests) */
  inMemory?: boolean;
  /** real PostgreSQL: search_path schema (tests use one per file) */
  schema?: string;
  poolMax?: number;
}

async function embeddedConnection(opts: DatabaseOptions): Promise<{ connection: unknown; close: () => Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  let dir: string | undefined;
  if (!opts.inMemory) {
    dir = path.join(opts.dataDir, 'pgdata');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const pglite = dir ? new PGlite(dir) : new PGlite();
  await pglite.waitReady;
  return { connection: createPgConfig(pglite), close: () => pglite.close() };
}

export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  const kind: DatabaseKind = opts.databaseUrl ? 'postgres' : 'embedded';
  let closeEmbedded: (() => Promise<void>) | undefined;
  let knex: Knex;
  if (kind === 'postgres') {
    knex = knexFactory({
      client: 'pg',
      connection: opts.databaseUrl,
      searchPath: opts.schema ? [opts.schema] : undefined,
      pool: { min: 0, max: opts.poolMax ?? 10 },
      acquireConnectionTimeout: 15_000,
    });
  } else {
    const embedded = await embeddedConnection(opts);
    closeEmbedded = embedded.close;
    knex = knexFactory({
      client: 'pg',
      connection: embedded.connection as Knex.StaticConnectionConfig,
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 60_000,
    });
  }
  const role = opts.appRole;
  const scoped = async <T>(tenantId: string | null, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    knex.transaction(async (trx) => {
      await trx.raw(`set local role ${role}`);
      if (tenantId === null) {
        await trx.raw(`select set_config('app.scope', 'system', true), set_config('app.tenant_id', '', true)`);
      } else {
        await trx.raw(`select set_config('app.scope', '', true), set_config('app.tenant_id', ?, true)`, [tenantId]);
      }
      return fn(trx);
    });
  return {
    kind,
    knex,
    appRole: role,
    withTenant: (tenantId, fn) => scoped(tenantId, fn),
    withSystem: (fn) => scoped(null, fn),
    async ping() {
      const t0 = performance.now();
      await knex.raw('select 1');
      return performance.now() - t0;
    },
    async close() {
      await knex.destroy();
      if (closeEmbedded) await closeEmbedded();
    },
  };
}
