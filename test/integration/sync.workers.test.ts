/**
 * Sync across real worker processes sharing one PostgreSQL: a worker killed with SIGKILL in the
 * middle of a sync, and two workers sharing 50 queued syncs.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTempPgDatabase } from '../helpers/databases.ts';
import { triggerSync, waitForJob } from '../helpers/sync.ts';
import { startWorker, type WorkerProcess } from '../helpers/worker-process.ts';

describe('sync workers (separate processes, real PostgreSQL)', () => {
  let t: TestApp;
  let source: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let src: pg.Client;
  const workers: WorkerProcess[] = [];
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });

  beforeAll(async () => {
    t = await startTestApp('postgres', { PIP_SYNC_LEASE_SECONDS: '3' });
    source = await createTempPgDatabase('pip_src');
    src = new pg.Client({ connectionString: source.url });
    await src.connect();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    await src?.end();
    await t?.close();
    await source?.drop();
  });

  async function pgConnection(name: string, table: string) {
    const c = await api('POST', '/pip/connections', {
      name,
      type: 'postgresql',
      config: { host: '127.0.0.1', port: 5432, database: source.name, user: 'postgres', password: '', tlsMode: 'disable', includeTables: [table], batchSize: 500 },
    });
    expect(c.statusCode, c.body).toBe(201);
    const id = c.json().id as string;
    expect((await api('POST', `/pip/connections/${id}/discover`)).statusCode).toBe(200);
    const m = await api('PUT', `/pip/connections/${id}/streams`, { streams: [{ name: table, namespace: 'public', target_name: table }] });
    expect(m.statusCode, m.body).toBe(200);
    return id;
  }

  const sourceRows = async (table: string) =>
    (await src.query(`select id, name, extract(epoch from updated_at)::float8 as ts from ${table} order by id`)).rows.map((r) => `${r.id}|${r.name}`);
  const storedRows = async (connectionId: string) =>
    (await t.db.knex('records').where({ connection_id: connectionId }).select('data')).map((r: { data: { id: number; name: string } }) => r.data).sort((a, b) => a.id - b.id).map((d) => `${d.id}|${d.name}`);

  it('survives a worker killed with SIGKILL mid-sync: old revision served, job retried, records equal the source', async () => {
    await src.query(`create table items (id int primary key, name text not null, updated_at timestamptz not null default now())`);
    await src.query(`insert into items (id, name) select g, 'item ' || g from generate_series(1, 150000) g`);
    const id = await pgConnection('kill', 'items');

    const w1 = await startWorker(t, { PIP_SYNC_BATCH_SIZE: '500' });
    workers.push(w1);
    const first = await waitForJob(t, await triggerSync(t, id), undefined, 120_000);
    expect(first).toMatchObject({ status: 'succeeded', revision: 1, counters: { read: 150000, upserted: 150000 } });
    const revision1 = await storedRows(id);
    expect(revision1).toEqual(await sourceRows('items'));

    // the source changes: updates, deletes, inserts
    await src.query(`update items set name = name || ' (v2)', updated_at = now() where id % 100 = 0`);
    await src.query(`delete from items where id between 1000 and 1099`);
    await src.query(`insert into items (id, name) select g, 'new ' || g from generate_series(150001, 150300) g`);

    const jobId = await triggerSync(t, id);
    // wait until the worker is well into the read, then kill it without warning
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await api('GET', `/pip/sync/jobs/${jobId}`)).json();
      if (job.status === 'running' && job.counters.read >= 2000) break;
      expect(job.status, 'the sync finished before it could be interrupted').not.toBe('succeeded');
      if (Date.now() > deadline) throw new Error(`job never got going: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    w1.kill('SIGKILL');
    await w1.exited;

    // the previous revision is still what is stored and served
    expect(await storedRows(id)).toEqual(revision1);
    expect((await api('GET', `/pip/connections/${id}/sync-status`)).json().revision).toBe(1);

    // another worker notices the dead lease, takes the job over and finishes it
    const w2 = await startWorker(t, { PIP_SYNC_BATCH_SIZE: '500' });
    workers.push(w2);
    const done = await waitForJob(t, jobId, undefined, 120_000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, revision: 2 });
    const final = await storedRows(id);
    expect(final).toEqual(await sourceRows('items'));
    expect(new Set(final).size).toBe(final.length);
    expect(await t.db.knex('sync_staging').where({ connection_id: id })).toHaveLength(0);
  }, 300_000);

  it('two worker processes share 50 queued syncs and run each exactly once', async () => {
    await src.query(`create table small (id int primary key, name text not null, updated_at timestamptz not null default now())`);
    await src.query(`insert into small (id, name) select g, 'row ' || g from generate_series(1, 20) g`);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await pgConnection(`share-${i}`, 'small'));
    const jobs: string[] = [];
    for (const id of ids) jobs.push(await triggerSync(t, id));
    expect(new Set(jobs).size).toBe(50);

    const [a, b] = await Promise.all([startWorker(t), startWorker(t)]);
    workers.push(a!, b!);
    const finished = [];
    for (const j of jobs) finished.push(await waitForJob(t, j, undefined, 180_000));
    expect(finished.every((j) => j.status === 'succeeded' && j.attempts === 1)).toBe(true);

    // each job ran exactly once, across both processes, and both took a share
    const runs = [...a!.lines, ...b!.lines].filter((l) => l.msg === 'sync finished').map((l) => l.jobId as string);
    expect(runs.sort()).toEqual([...jobs].sort());
    const byWorker = await t.db.knex('sync_jobs').whereIn('id', jobs).select('worker').groupBy('worker').count('* as n');
    expect(byWorker).toHaveLength(2);
    for (const id of ids) expect(await storedRows(id)).toHaveLength(20);
  }, 300_000);
});
