import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait, triggerSync, waitForJob } from '../helpers/sync.ts';
import { createFakeSource, type FakeSource, type Row } from '../fakes/fake-source.ts';
import { ConnectorRegistry } from '../../src/registry/registry.ts';
import type { RevisionEvent } from '../../src/records/revision-events.ts';

const people = (n: number, day = '2026-01-01'): Row[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, email: `u${i + 1}@x.io`, name: `User ${i + 1}`, ssn: `ssn-${i}`, updated_at: `${day}T00:00:${String(i % 60).padStart(2, '0')}Z` }));

describe.each(BACKENDS)('sync engine on %s', (backend) => {
  let t: TestApp;
  let fake: FakeSource;
  const events: RevisionEvent[] = [];
  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });

  beforeAll(async () => {
    fake = createFakeSource();
    t = await startTestApp(backend, {}, { registry: new ConnectorRegistry([fake.definition]), worker: true });
    t.services.revisions.on((e) => void events.push(e));
  });
  afterAll(async () => t?.close());
  beforeEach(() => {
    fake.failAfter = undefined;
    fake.delayMs = 0;
  });

  async function connection(name: string, streams: unknown[]) {
    const c = (await api('POST', '/pip/connections', { name, type: 'fake', config: { host: 'localhost', token: 'tok' } })).json();
    expect((await api('POST', `/pip/connections/${c.id}/discover`)).statusCode).toBe(200);
    const m = await api('PUT', `/pip/connections/${c.id}/streams`, { streams });
    expect(m.statusCode, m.body).toBe(200);
    return c.id as string;
  }
  const records = (connectionId: string) => t.db.knex('records').where({ connection_id: connectionId }).orderBy('record_key');

  it('answers 202 with a Location, runs the job and stores only mapped fields under target names', async () => {
    fake.tables.set('people', people(10));
    const id = await connection('full-1', [{ name: 'people', target_name: 'staff', fields: [{ name: 'id' }, { name: 'email', target: 'mail' }, { name: 'updated_at' }] }]);
    const r = await api('POST', `/pip/connections/${id}/trigger-sync`, {});
    expect(r.statusCode).toBe(202);
    expect(r.headers.location).toBe(`/pip/sync/jobs/${r.json().job_id}`);
    const job = await waitForJob(t, r.json().job_id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, revision: 1, counters: { read: 10, upserted: 10, deleted: 0, unchanged: 0 } });
    expect(job.duration_ms).toBeGreaterThanOrEqual(0);
    const rows = await records(id);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatchObject({ stream: 'staff', data: { id: 1, mail: 'u1@x.io', updated_at: '2026-01-01T00:00:00Z' } });
    expect(rows[0].data.ssn).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ connectionId: id, revision: 1, changedStreams: ['staff'], reason: 'sync' });

    const status = (await api('GET', `/pip/connections/${id}/sync-status`)).json();
    expect(status).toMatchObject({ revision: 1, stale: false, schedule: null });
    expect(status.freshness_seconds).toBeLessThan(30);

    // nothing changed at the source: no writes, no new revision
    const again = await syncAndWait(t, id);
    expect(again).toMatchObject({ status: 'succeeded', revision: 1, counters: { read: 10, upserted: 0, unchanged: 10 } });
    expect((await records(id)).every((r: { revision: number }) => Number(r.revision) === 1)).toBe(true);
  });

  it('incremental sync reads and rewrites only the changed rows', async () => {
    const rows = people(100);
    fake.tables.set('inc', rows);
    const id = await connection('inc-1', [{ name: 'inc', sync_mode: 'incremental' }]);
    expect((await syncAndWait(t, id)).counters.read).toBe(100);
    rows[4]!.name = 'Changed'; rows[4]!.updated_at = '2026-02-01T00:00:00Z';
    rows[7]!.name = 'Changed too'; rows[7]!.updated_at = '2026-02-01T00:00:01Z';
    const job = await syncAndWait(t, id);
    expect(job).toMatchObject({ status: 'succeeded', revision: 2, counters: { read: 2, upserted: 2, deleted: 0 } });
    const changed = (await records(id)).filter((r: { revision: number }) => Number(r.revision) === 2).map((r: { record_key: string }) => r.record_key).sort();
    expect(changed).toEqual(['5', '8']);
    const state = await t.db.knex('sync_state').where({ connection_id: id }).first();
    expect(state.stream_state.inc.cursor).toBe('2026-02-01T00:00:01Z');
  });

  it('full sync deletes records missing from the source, and the guard refuses mass deletes', async () => {
    const rows = people(10);
    fake.tables.set('guarded', rows);
    const id = await connection('guard-1', [{ name: 'guarded' }]);
    await syncAndWait(t, id);
    fake.tables.set('guarded', rows.slice(0, 9));
    expect((await syncAndWait(t, id)).counters).toMatchObject({ deleted: 1 });
    expect(await records(id)).toHaveLength(9);

    // the source suddenly returns nothing: refused, nothing wiped, revision unchanged
    fake.tables.set('guarded', []);
    const refused = await syncAndWait(t, id);
    expect(refused.status).toBe('failed');
    expect(refused.attempts).toBe(1);
    expect(refused.error).toMatchObject({ code: 'PIP_SYNC_MASS_DELETE_REFUSED', retryable: false });
    expect(refused.error.message).toContain('9 of 9');
    expect(refused.error.hint).toContain('allow_mass_delete');
    expect(await records(id)).toHaveLength(9);
    expect((await api('GET', `/pip/connections/${id}/sync-status`)).json().revision).toBe(2);

    // an admin who means it
    const allowed = await syncAndWait(t, id, { allow_mass_delete: true });
    expect(allowed).toMatchObject({ status: 'succeeded', counters: { deleted: 9 } });
    expect(await records(id)).toHaveLength(0);
  });

  it('a whole-stream re-read (scope_complete) deletes what is gone, but never wipes a stream on an empty resync', async () => {
    const rows = people(10);
    fake.tables.set('resynced', rows);
    const id = await connection('resync-1', [{ name: 'resynced', sync_mode: 'incremental' }]);
    await syncAndWait(t, id);
    fake.resync = true;
    try {
      // the provider lost its delta token: everything is read again, one record is gone
      fake.tables.set('resynced', rows.slice(1));
      expect(await syncAndWait(t, id)).toMatchObject({ status: 'succeeded', counters: { read: 9, upserted: 0, deleted: 1 } });
      expect(await records(id)).toHaveLength(9);
      // a resync that comes back empty is refused like a full sync would be
      fake.tables.set('resynced', []);
      const refused = await syncAndWait(t, id);
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'PIP_SYNC_MASS_DELETE_REFUSED' } });
      expect(await records(id)).toHaveLength(9);
    } finally {
      fake.resync = false;
    }
  });

  it('a failed read leaves the previous revision untouched; auth errors fail at once, transient ones are retried', async () => {
    fake.tables.set('flaky', people(20));
    const id = await connection('flaky-1', [{ name: 'flaky' }]);
    await syncAndWait(t, id);
    const before = await records(id);
    fake.tables.set('flaky', people(20, '2026-03-03').map((r) => ({ ...r, name: `${r.name} v2` })));

    fake.failAfter = { records: 5, kind: 'auth' };
    const auth = await syncAndWait(t, id);
    expect(auth).toMatchObject({ status: 'failed', attempts: 1, error: { kind: 'auth', code: 'PIP_SOURCE_AUTH_FAILED', retryable: false } });
    expect(await records(id)).toEqual(before);
    expect(await t.db.knex('sync_staging').where({ connection_id: id })).toHaveLength(0);

    fake.failAfter = { records: 5, kind: 'transient' };
    const retried = await syncAndWait(t, id);
    expect(retried).toMatchObject({ status: 'succeeded', attempts: 2, counters: { upserted: 20 } });
    expect((await records(id))[0].data.name).toContain('v2');
  });

  it('cancels a running job without applying anything, and a queued one at once', async () => {
    fake.tables.set('slow', people(200));
    const id = await connection('slow-1', [{ name: 'slow' }]);
    fake.delayMs = 20;
    const jobId = await triggerSync(t, id);
    await waitForJob(t, jobId, ['running']);
    const c = await api('POST', `/pip/sync/jobs/${jobId}/cancel`);
    expect(c.statusCode).toBe(200);
    expect(c.json().cancel_requested).toBe(true);
    const done = await waitForJob(t, jobId);
    expect(done.status).toBe('cancelled');
    expect(await records(id)).toHaveLength(0);
    expect((await api('POST', `/pip/sync/jobs/${jobId}/cancel`)).statusCode).toBe(409);
  });

  it('validates schedules, runs due ones, and reports them', async () => {
    fake.tables.set('sched', people(3));
    const id = await connection('sched-1', [{ name: 'sched' }]);
    const bad = await api('POST', `/pip/connections/${id}/schedule-sync`, { cron: 'every five minutes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('PIP_INVALID_CRON');
    expect((await api('POST', `/pip/connections/${id}/schedule-sync`, { cron: '*/5 * * * * *' })).json().error.code).toBe('PIP_SCHEDULE_TOO_FREQUENT');
    expect((await api('POST', `/pip/connections/${id}/schedule-sync`, { cron: '0 * * * *', timezone: 'Mars/Olympus' })).json().error.code).toBe('PIP_INVALID_TIMEZONE');
    const ok = await api('POST', `/pip/connections/${id}/schedule-sync`, { cron: '30 2 * * *', timezone: 'Europe/Paris' });
    expect(ok.statusCode).toBe(200);
    expect(new Date(ok.json().next_run_at).getTime()).toBeGreaterThan(Date.now());
    expect((await api('GET', `/pip/connections/${id}/sync-status`)).json().schedule).toMatchObject({ cron: '30 2 * * *', timezone: 'Europe/Paris' });

    // make it due: the scheduler starts exactly one job and moves next_run_at forward
    await t.db.knex('sync_schedules').where({ connection_id: id }).update({ next_run_at: new Date(Date.now() - 1000) });
    const deadline = Date.now() + 15_000;
    let jobs: any[] = [];
    while (Date.now() < deadline) {
      jobs = (await api('GET', `/pip/sync/jobs?connection_id=${id}&trigger=schedule`)).json().items;
      if (jobs.length && jobs[0].status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(jobs).toHaveLength(1);
    expect(jobs[0].status).toBe('succeeded');
    const after = await t.db.knex('sync_schedules').where({ connection_id: id }).first();
    expect(new Date(after.next_run_at).getTime()).toBeGreaterThan(Date.now());

    const re = (await api('POST', '/pip/sync/reschedule-all')).json();
    expect(re.rescheduled).toBeGreaterThanOrEqual(1);
    expect((await api('DELETE', `/pip/connections/${id}/unschedule-sync`)).statusCode).toBe(204);
    expect((await api('DELETE', `/pip/connections/${id}/unschedule-sync`)).statusCode).toBe(404);
  });

  it('lists jobs and history with cursors and reports scheduler statistics', async () => {
    const all = (await api('GET', '/pip/sync/jobs?limit=3')).json();
    expect(all.items).toHaveLength(3);
    const next = (await api('GET', `/pip/sync/jobs?limit=3&cursor=${all.next_cursor}`)).json();
    expect(next.items.map((j: { id: string }) => j.id)).not.toContain(all.items[0].id);
    const stats = (await api('GET', '/pip/sync/scheduler-stats')).json();
    expect(stats.jobs_by_status.succeeded).toBeGreaterThan(5);
    expect(stats.jobs_by_status.failed).toBeGreaterThanOrEqual(2);
    expect(stats.success_rate).toBeGreaterThan(0);
    expect(stats.success_rate).toBeLessThan(1);
    expect(stats.average_duration_ms).toBeGreaterThanOrEqual(0);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('pip_sync_runs_total{status="failed",error_kind="auth"}');
    expect(metrics).toMatch(/pip_sync_freshness_seconds\{tenant="default",connection="[0-9a-f-]+"\}/);
  });

  it('refuses to sync an unmapped or paused connection', async () => {
    const c = (await api('POST', '/pip/connections', { name: 'unmapped', type: 'fake', config: { host: 'localhost', token: 'tok' } })).json();
    expect((await api('POST', `/pip/connections/${c.id}/trigger-sync`, {})).json().error.code).toBe('PIP_NOTHING_TO_SYNC');
    await api('PUT', `/pip/connections/${c.id}`, { status: 'paused' });
    expect((await api('POST', `/pip/connections/${c.id}/trigger-sync`, {})).statusCode).toBe(409);
  });
});

describe('sync queue without a worker', () => {
  it('reuses an identical queued job instead of queueing it twice', async () => {
    const fake = createFakeSource();
    fake.tables.set('t', [{ id: 1 }]);
    const t = await startTestApp('embedded', {}, { registry: new ConnectorRegistry([fake.definition]) });
    try {
      const api = (method: 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
      const c = (await api('POST', '/pip/connections', { name: 'q', type: 'fake', config: { host: 'localhost', token: 'tok' } })).json();
      await api('POST', `/pip/connections/${c.id}/discover`);
      await api('PUT', `/pip/connections/${c.id}/streams`, { streams: [{ name: 't' }] });
      const a = (await api('POST', `/pip/connections/${c.id}/trigger-sync`, {})).json();
      const b = (await api('POST', `/pip/connections/${c.id}/trigger-sync`, {})).json();
      expect(b).toEqual({ job_id: a.job_id, status: 'queued', deduplicated: true });
      const full = (await api('POST', `/pip/connections/${c.id}/trigger-sync`, { full: true })).json();
      expect(full.job_id).not.toBe(a.job_id);
      // a queued job is cancelled at once
      const cancelled = (await api('POST', `/pip/sync/jobs/${a.job_id}/cancel`)).json();
      expect(cancelled.status).toBe('cancelled');
    } finally {
      await t.close();
    }
  });
});
