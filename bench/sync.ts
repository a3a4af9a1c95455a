/**
 * bench/sync: a 10-column table in the local PostgreSQL synced through the `postgresql`
 * connector into the record store (real PostgreSQL), at 100k and 1M rows, printing wall time,
 * rows/s and peak RSS; the same rows through a raw `COPY … TO STDOUT | COPY … FROM STDIN`
 * pipeline for the ratio; and an incremental run after changing 1% of the rows.
 *
 *   node --import tsx bench/sync.ts [rows…]        (default: 100000 1000000)
 * Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) — see scripts/services.sh.
 */
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pino from 'pino';
import copyStreams from 'pg-copy-streams';
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { MemoryCache } from '../src/cache/cache.ts';
import { keyringFromString } from '../src/secrets/keyring.ts';
import { createServices } from '../src/container.ts';
import { loadConnectorRegistry } from '../src/registry/registry.ts';
import type { RequestContext } from '../src/auth/principal.ts';

const ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = sizes.length ? sizes : [100_000, 1_000_000];

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
const urlOf = (db: string) => Object.assign(new URL(ADMIN), { pathname: `/${db}` }).toString();

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;

async function waitJob(services: ReturnType<typeof createServices>, ctx: RequestContext, id: string) {
  for (;;) {
    const j = await services.sync.getJob(ctx, id);
    if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function benchSize(rows: number) {
  const tag = crypto.randomBytes(3).toString('hex');
  const srcDb = `pip_bench_src_${tag}`;
  const svcDb = `pip_bench_svc_${tag}`;
  const copyDb = `pip_bench_copy_${tag}`;
  for (const d of [srcDb, svcDb, copyDb]) await admin(`create database ${d}`);
  const src = new pg.Client({ connectionString: urlOf(srcDb) });
  await src.connect();
  try {
    await src.query(`create table wide (id bigint primary key, email text, name text, dept text, title text, salary numeric(10,2), active boolean, score double precision, created_at timestamptz, updated_at timestamptz)`);
    await src.query(`insert into wide select g, 'u' || g || '@example.com', 'User ' || g, 'dept ' || (g % 50), 'title ' || (g % 17), (g % 1000) * 10.5, g % 3 = 0, g * 0.37, now() - (g || ' seconds')::interval, timestamp '2026-01-01' + (g || ' milliseconds')::interval from generate_series(1, ${rows}) g`);
    // incremental sync pages by (updated_at, id): like any keyset reader it needs that index
    await src.query('create index on wide (updated_at, id)');
    await src.query('analyze wide');

    const config = loadConfig({ DATABASE_URL: urlOf(svcDb), PIP_ENCRYPTION_KEYS: `1:${crypto.randomBytes(32).toString('base64')}`, LOG_LEVEL: 'warn', PIP_SYNC_POLL_SECONDS: '0.5', PIP_SCHEDULER_TICK_SECONDS: '1', DATA_DIR: '/tmp/pip-bench' });
    const db = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, appRole: config.dbAppRole });
    await runMigrations(db.knex, config.dbAppRole);
    const registry = await loadConnectorRegistry();
    const services = createServices({ config, db, cache: new MemoryCache(), keyring: keyringFromString(config.encryptionKeys!), registry, logger: pino({ level: 'warn' }) });
    await services.queue.start();
    await services.syncWorker.start();
    const ctx: RequestContext = { tenantId: 'default', actor: 'bench', requestId: 'bench' };
    try {
      const conn = await services.connections.create(ctx, { name: 'bench', type: 'postgresql', config: { host: '127.0.0.1', port: 5432, database: srcDb, user: 'postgres', password: '', tlsMode: 'disable', batchSize: 5000 } });
      await services.connections.discover(ctx, conn.id);
      await services.connections.setStreams(ctx, conn.id, [{ name: 'wide', namespace: 'public', sync_mode: 'incremental', cursor_field: 'updated_at' }]);

      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      peak = rssBefore;
      let t0 = performance.now();
      const first = await waitJob(services, ctx, (await services.sync.trigger(ctx, conn.id, {})).job_id);
      const fullSeconds = (performance.now() - t0) / 1000;
      const fullPeak = peak;
      if (first.status !== 'succeeded') throw new Error(`sync failed: ${JSON.stringify(first.error)}`);

      // raw COPY pipeline: the floor for moving these bytes between two databases
      const dst = new pg.Client({ connectionString: urlOf(copyDb) });
      await dst.connect();
      await dst.query(`create table wide (id bigint primary key, email text, name text, dept text, title text, salary numeric(10,2), active boolean, score double precision, created_at timestamptz, updated_at timestamptz)`);
      t0 = performance.now();
      await pipeline(src.query(copyStreams.to('COPY wide TO STDOUT')), dst.query(copyStreams.from('COPY wide FROM STDIN')));
      const copySeconds = (performance.now() - t0) / 1000;
      await dst.end();

      // incremental after changing 1% of the rows
      await src.query(`update wide set title = title || ' (changed)', updated_at = now() where id % 100 = 0`);
      t0 = performance.now();
      const inc = await waitJob(services, ctx, (await services.sync.trigger(ctx, conn.id, {})).job_id);
      const incSeconds = (performance.now() - t0) / 1000;

      return { rows, fullSeconds, copySeconds, fullPeak, rssBefore, first, inc, incSeconds };
    } finally {
      await services.syncWorker.stop();
      await services.queue.stop();
      await db.close();
    }
  } finally {
    await src.end();
    for (const d of [srcDb, svcDb, copyDb]) await admin(`drop database if exists ${d} with (force)`);
  }
}

const results = [];
for (const n of SIZES) {
  const r = await benchSize(n);
  results.push(r);
  console.log(`\n== ${n.toLocaleString('en')} rows × 10 columns`);
  console.log(`full sync        ${r.fullSeconds.toFixed(1)} s   ${Math.round(n / r.fullSeconds).toLocaleString('en')} rows/s   (read ${r.first.counters.read}, upserted ${r.first.counters.upserted}, pages ${r.first.counters.pages})`);
  console.log(`raw COPY|COPY    ${r.copySeconds.toFixed(1)} s   ${Math.round(n / r.copySeconds).toLocaleString('en')} rows/s   → sync takes ${(r.fullSeconds / r.copySeconds).toFixed(1)}× the raw pipeline`);
  console.log(`incremental 1%   ${r.incSeconds.toFixed(1)} s   read ${r.inc.counters.read}, upserted ${r.inc.counters.upserted}, unchanged ${r.inc.counters.unchanged}`);
  console.log(`RSS              before ${mb(r.rssBefore)}, peak during full sync ${mb(r.fullPeak)} (+${mb(r.fullPeak - r.rssBefore)})`);
}
if (results.length > 1) {
  const [a, b] = [results[0]!, results[results.length - 1]!];
  console.log(`\npeak RSS growth: ${a.rows.toLocaleString('en')} rows +${mb(a.fullPeak - a.rssBefore)}, ${b.rows.toLocaleString('en')} rows +${mb(b.fullPeak - b.rssBefore)} (${(b.rows / a.rows).toFixed(0)}× the rows)`);
}
clearInterval(sampler);
process.exit(0);
