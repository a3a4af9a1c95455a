/**
 * Streams a large table through the PostgreSQL (and MariaDB / MySQL) connector's `read`, counting
 * rows without keeping them, and prints throughput and memory samples at 10 %, 50 % and 100 % plus
 * the peak RSS seen during the read — once at 20,000 rows and once at 200,000 rows, so the
 * figures show memory does not grow with the row count.
 *
 *   node --import tsx bench/read-memory.ts            # PostgreSQL and MariaDB / MySQL
 *   node --import tsx bench/read-memory.ts --pg-only  # PostgreSQL only
 *
 * Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and, unless --pg-only, MariaDB / MySQL
 * at 127.0.0.1:3306 (user root, empty password). Creates and drops its own databases.
 * With `node --expose-gc --import tsx …` the samples are taken after a collection (retained heap).
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import mysqlConnector from '../connectors/mysql/index.ts';
import postgresConnector from '../connectors/postgresql/index.ts';
import { createNetworkGuard } from '../connectors/sdk/network-guard.ts';
import type { ConfiguredStream, ConnectorDefinition, ReadContext } from '../connectors/sdk/types.ts';

const SIZES = [20_000, 200_000];
const BATCH_SIZE = 1000;

interface Sample {
  at: string;
  rows: number;
  rssMb: number;
  heapMb: number;
}

interface RunResult {
  label: string;
  rows: number;
  seconds: number;
  samples: Sample[];
  peakRssMb: number;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

function context(): ReadContext {
  return {
    signal: new AbortController().signal,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    networkGuard: createNetworkGuard(),
    timeoutMs: 60_000,
    state: {},
    batchSize: BATCH_SIZE,
  };
}

async function measureRead<C>(label: string, connector: ConnectorDefinition<C>, config: C, stream: ConfiguredStream, expected: number): Promise<RunResult> {
  gc?.();
  const marks = new Map([[Math.ceil(expected * 0.1), '10%'], [Math.ceil(expected * 0.5), '50%'], [expected, '100%']]);
  const samples: Sample[] = [];
  let rows = 0;
  let peakRss = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  for await (const message of connector.read(config, { streams: [stream] }, context())) {
    if (message.type !== 'record') continue;
    rows += 1;
    if (rows % 500 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const mark = marks.get(rows);
    if (mark) {
      gc?.(); // with --expose-gc the heap figure is what is retained, not garbage not yet collected
      const mem = process.memoryUsage();
      peakRss = Math.max(peakRss, mem.rss);
      samples.push({ at: mark, rows, rssMb: mb(mem.rss), heapMb: mb(mem.heapUsed) });
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (rows !== expected) throw new Error(`${label}: read ${rows} rows, expected ${expected}`);
  return { label, rows, seconds, samples, peakRssMb: mb(peakRss) };
}

function print(result: RunResult): void {
  const rate = Math.round(result.rows / result.seconds);
  const samples = result.samples.map((s) => `${s.at.padStart(4)} rss ${String(s.rssMb).padStart(6)} MB heap ${String(s.heapMb).padStart(6)} MB`).join(' | ');
  console.log(
    `${result.label.padEnd(34)} rows ${String(result.rows).padStart(7)}  ${result.seconds.toFixed(2).padStart(6)} s  ${String(rate).padStart(7)} rows/s  peak rss ${result.peakRssMb} MB`,
  );
  console.log(`${''.padEnd(34)} ${samples}`);
}

const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;

async function benchPostgres(): Promise<void> {
  const database = uniqueName('pip_bench_pg');
  const admin = { host: '127.0.0.1', port: 5432, user: 'postgres' };
  const root = new pg.Client({ ...admin, database: 'postgres' });
  await root.connect();
  await root.query(`CREATE DATABASE ${database}`);
  const db = new pg.Client({ ...admin, database });
  await db.connect();
  try {
    const config = { host: '127.0.0.1', port: 5432, database, user: 'postgres', password: '', tlsMode: 'disable' } as never;
    for (const size of SIZES) {
      const table = `rows_${size}`;
      await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, org_id int NOT NULL, email text NOT NULL, payload text NOT NULL,
        updated_at timestamptz(6) NOT NULL)`);
      await db.query(
        `INSERT INTO ${table} SELECT g, g % 97, 'user' || g || '@example.com', repeat(md5(g::text), 3), '2024-01-01'::timestamptz + (g / 10) * interval '1 ms'
         FROM generate_series(1, $1::int) g`,
        [size],
      );
      // incremental keyset pages need an index led by the cursor column, as any cursor sync does
      await db.query(`CREATE INDEX ON ${table} (updated_at)`);
      await db.query(`CREATE VIEW ${table}_view AS SELECT * FROM ${table}`);
      await db.query(`ANALYZE ${table}`);
      const base = { name: table, fields: [], primaryKey: ['id'], syncMode: 'full' as const };
      print(await measureRead(`postgresql keyset (full)`, postgresConnector, config, base, size));
      print(await measureRead(`postgresql keyset (incremental)`, postgresConnector, config, { ...base, syncMode: 'incremental', cursorField: 'updated_at' }, size));
      print(await measureRead(`postgresql pg-cursor (keyless view)`, postgresConnector, config, { ...base, name: `${table}_view`, primaryKey: [] }, size));
    }
  } finally {
    await db.end();
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  }
}

async function benchMysql(): Promise<void> {
  const database = uniqueName('pip_bench_my');
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  await conn.query(`CREATE DATABASE ${database}`);
  await conn.query(`USE ${database}`);
  try {
    const config = { host: '127.0.0.1', port: 3306, database, user: 'root', password: '', tlsMode: 'disable' } as never;
    await conn.query('CREATE TABLE digits (d int PRIMARY KEY)');
    await conn.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
    for (const size of SIZES) {
      const table = `rows_${size}`;
      await conn.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, org_id int NOT NULL, email varchar(100) NOT NULL,
        payload varchar(200) NOT NULL, updated_at datetime(6) NOT NULL)`);
      await conn.query(
        `INSERT INTO ${table}
         SELECT n, n % 97, CONCAT('user', n, '@example.com'), REPEAT(MD5(n), 3), TIMESTAMPADD(MICROSECOND, (n DIV 10) * 1000, '2024-01-01')
         FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1 AS n
               FROM digits a, digits b, digits c, digits e, digits f, digits g) seq
         WHERE n <= ?`,
        [size],
      );
      await conn.query(`CREATE INDEX ${table}_updated_at ON ${table} (updated_at)`);
      await conn.query(`CREATE VIEW ${table}_view AS SELECT * FROM ${table}`);
      const base = { name: table, fields: [], primaryKey: ['id'], syncMode: 'full' as const };
      print(await measureRead(`mysql keyset (full)`, mysqlConnector, config, base, size));
      print(await measureRead(`mysql keyset (incremental)`, mysqlConnector, config, { ...base, syncMode: 'incremental', cursorField: 'updated_at' }, size));
      print(await measureRead(`mysql row stream (keyless view)`, mysqlConnector, config, { ...base, name: `${table}_view`, primaryKey: [] }, size));
    }
  } finally {
    await conn.query(`DROP DATABASE IF EXISTS ${database}`);
    await conn.end();
  }
}

console.log(`node ${process.version}, batch size ${BATCH_SIZE}, gc between runs: ${gc ? 'yes' : 'no (run with --expose-gc for it)'}`);
await benchPostgres();
if (!process.argv.includes('--pg-only')) await benchMysql();
