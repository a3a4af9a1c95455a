import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { triggerSync, waitForJob } from '../helpers/sync.ts';
import { startFakeOkta, type FakeOkta, type OktaCall } from '../fakes/okta.ts';

function budgetViolations(calls: OktaCall[]): string[] {
  const blockedUntil = new Map<string, number>();
  const out: string[] = [];
  for (const c of calls) {
    const until = blockedUntil.get(c.bucket);
    if (until !== undefined && c.at < until) out.push(`${c.bucket} at ${c.at} < reset ${until}`);
    if (c.remaining === 0 && c.reset !== undefined) blockedUntil.set(c.bucket, c.reset * 1000);
  }
  return out;
}

describe.each(BACKENDS)('okta end to end through the sync engine on %s', (backend) => {
  let t: TestApp;
  let fake: FakeOkta;
  let id: string;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const count = async (stream: string) => Number((await t.db.withSystem((trx) => trx('records').where({ connection_id: id, stream }).count('* as n').first()))!.n);
  const record = async (stream: string, key: string) => (await t.db.withSystem((trx) => trx('records').where({ connection_id: id, stream, record_key: key }).first()))?.data;
  const sync = async () => waitForJob(t, await triggerSync(t, id), undefined, 180_000);

  beforeAll(async () => {
    fake = await startFakeOkta({ rateLimit: { windowMs: 1000, limit: 600, buckets: { '/api/v1/users': 20, '/api/v1/groups/{id}/users': 150 } } });
    fake.seed({ users: 10_000, groups: 500 });
    t = await startTestApp(backend, {}, { worker: true });
    const c = await api('POST', '/pip/connections', { name: 'okta-big', type: 'okta', config: { orgUrl: fake.url, apiToken: fake.apiToken } });
    expect(c.statusCode, c.body).toBe(201);
    id = c.json().id;
    expect((await api('POST', `/pip/connections/${id}/discover`)).statusCode).toBe(200);
    const m = await api('PUT', `/pip/connections/${id}/streams`, { streams: ['users', 'groups', 'memberships'].map((name) => ({ name, sync_mode: 'incremental' })) });
    expect(m.statusCode, m.body).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('a full sync of 10,000 users and 500 groups through 429s stores every record once', async () => {
    fake.resetCalls();
    fake.inject429({ bucket: '/api/v1/users', atCalls: [7, 26] });
    fake.inject429({ bucket: '/api/v1/groups/{id}/users', every: 120 });
    const job = await sync();
    fake.clearFaults();
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const edges = [...fake.members.values()].reduce((n, s) => n + s.size, 0);
    expect(job.counters).toMatchObject({ read: 10_000 + 500 + edges, upserted: 10_000 + 500 + edges, deleted: 0 });
    expect(job.counters.rate_limited_ms).toBeGreaterThan(0);
    expect(await count('users')).toBe(10_000);
    expect(await count('groups')).toBe(500);
    expect(await count('memberships')).toBe(edges);
    const keys = await t.db.withSystem((trx) => trx('records').where({ connection_id: id, stream: 'users' }).pluck('record_key'));
    expect(new Set(keys)).toEqual(new Set(fake.users.keys()));

    const throttled = fake.calls.filter((c) => c.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(5);
    expect(throttled.every((c) => c.injected)).toBe(true);
    expect(budgetViolations(fake.calls)).toEqual([]);
    for (const t429 of throttled) {
      const next = fake.calls.slice(fake.calls.indexOf(t429) + 1).find((c) => c.bucket === t429.bucket)!;
      expect([next.path, next.query.after]).toEqual([t429.path, t429.query.after]);
    }
  }, 240_000);

  it('the next incremental sync picks up only the changes, and a member who left a group is deleted', async () => {
    // changes must be newer than the marks (which never pass the Date header of a listing)
    await new Promise((r) => setTimeout(r, 1100));
    const users = [...fake.users.values()];
    const group = [...fake.groups.values()][3]!;
    const leaver = [...fake.members.get(group.id)!][0]!;
    fake.updateUser(users[42]!.id, { department: 'Security' });
    fake.setUserStatus(users[43]!.id, 'SUSPENDED');
    fake.removeMember(group.id, leaver);
    const members = fake.members.get(group.id)!.size;
    const before = await count('memberships');
    fake.resetCalls();

    const job = await sync();
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.counters).toMatchObject({ read: 2 + members, upserted: 2, deleted: 1 });
    expect(await record('users', users[42]!.id)).toMatchObject({ department: 'Security' });
    expect(await record('users', users[43]!.id)).toMatchObject({ status: 'suspended' });
    expect(await record('memberships', `${group.id}:user:${leaver}`)).toBeUndefined();
    expect(await count('memberships')).toBe(before - 1);
    expect(fake.calls.filter((c) => c.bucket === '/api/v1/groups/{id}/users')).toHaveLength(1);
    expect(fake.calls.length).toBeLessThan(10);
  }, 120_000);
});
