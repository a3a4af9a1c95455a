import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait, waitForJob } from '../helpers/sync.ts';
import { dataToken, freePort } from '../helpers/opal.ts';
import { startFakeOkta, type FakeOkta, type OktaUser } from '../fakes/okta.ts';
import { startFakeOpalServer, type FakeOpalServer } from '../fakes/opal-server.ts';

const HOOK_SECRET = 'okta-event-hook-secret-0123456789';
const DATASOURCE_TOKEN = 'opal-datasource-token-for-tests';

describe.each(BACKENDS)('Okta event hooks through the webhook pipeline on %s', (backend) => {
  let t: TestApp;
  let base: string;
  let fake: FakeOkta;
  let opal: FakeOpalServer;
  let id: string;
  let hookUrl: string;
  let users: OktaUser[];
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const record = async (stream: string, key: string) => (await t.db.withSystem((trx) => trx('records').where({ connection_id: id, stream, record_key: key }).first()))?.data;
  const jobs = async () => t.db.withSystem((trx) => trx('sync_jobs').where({ connection_id: id, trigger: 'webhook' }).orderBy('created_at'));
  const audits = async (action: string) => t.db.withSystem((trx) => trx('audit_events').where({ connection_id: id, action }).orderBy('id'));
  const revision = async () => Number((await t.db.withSystem((trx) => trx('sync_state').where({ connection_id: id }).first())).revision);
  const auth = { header: 'Authorization', secret: HOOK_SECRET };

  beforeAll(async () => {
    fake = await startFakeOkta();
    fake.seed({ users: 40, groups: 4 });
    users = [...fake.users.values()];
    opal = await startFakeOpalServer();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp(backend, {
      PIP_PUBLIC_URL: base,
      // rate limiting stays on for the public webhook routes
      PIP_RATE_LIMIT_PER_MINUTE: '1000',
      PIP_BODY_LIMIT_BYTES: String(64 * 1024),
      OPAL_SERVER_URL: opal.url,
      OPAL_DATASOURCE_TOKEN: DATASOURCE_TOKEN,
      PIP_OPAL_PUBLISH_WINDOW_MS: '100',
    }, { worker: true });
    await t.app.listen({ port, host: '127.0.0.1' });
    const c = await api('POST', '/pip/connections', { name: 'okta-hooks', type: 'okta', config: { orgUrl: fake.url, apiToken: fake.apiToken, webhookSecret: HOOK_SECRET } });
    expect(c.statusCode, c.body).toBe(201);
    id = c.json().id;
    expect((await api('POST', `/pip/connections/${id}/discover`)).statusCode).toBe(200);
    expect((await api('PUT', `/pip/connections/${id}/streams`, { streams: [{ name: 'users' }, { name: 'groups' }, { name: 'memberships' }] })).statusCode).toBe(200);
    expect((await syncAndWait(t, id)).status).toBe('succeeded');
    hookUrl = `${base}/pip/webhooks/okta/${id}`;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await opal?.close();
  });
  beforeEach(async () => {
    await t.services.opal.publisher.idle();
    opal.requests.length = 0;
  });

  it("answers Okta's one-time verification with the challenge; unknown or mismatched endpoints are the same 404", async () => {
    const v = await fake.verifyEventHook(hookUrl);
    expect(v.status).toBe(200);
    expect(v.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(v.body)).toEqual({ verification: v.challenge });
    expect((await audits('webhook.handshake')).length).toBe(1);

    const unknown = await fetch(`${base}/pip/webhooks/okta/00000000-0000-4000-8000-000000000000`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const mismatch = await fetch(`${base}/pip/webhooks/auth0/${id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const malformed = await fetch(`${base}/pip/webhooks/okta/not-a-uuid`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const bodies = await Promise.all([unknown, mismatch, malformed].map(async (r) => [r.status, ((await r.json()) as { error: unknown }).error]));
    expect(bodies).toEqual([
      [404, { code: 'PIP_WEBHOOK_NOT_FOUND', message: 'no webhook endpoint here' }],
      [404, { code: 'PIP_WEBHOOK_NOT_FOUND', message: 'no webhook endpoint here' }],
      [404, { code: 'PIP_WEBHOOK_NOT_FOUND', message: 'no webhook endpoint here' }],
    ]);
    expect(unknown.headers.get('x-ratelimit-limit')).toBe('1000');
    // one budget per calling address, whatever Authorization value a caller makes up
    const r1 = await fetch(hookUrl, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer made-up-1' } });
    const r2 = await fetch(hookUrl, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer made-up-2' } });
    expect(Number(r2.headers.get('x-ratelimit-remaining'))).toBe(Number(r1.headers.get('x-ratelimit-remaining')) - 1);
  });

  it('refuses a forged delivery with 401, audits it, and queues nothing', async () => {
    const before = (await jobs()).length;
    const rejectedBefore = (await audits('webhook.rejected')).length;
    const forged = await fake.deliverEvents(hookUrl, [fake.userEvent('user.lifecycle.deactivate', users[0]!)], { header: 'Authorization', secret: 'not-the-secret-value-at-all' });
    expect(forged.status).toBe(401);
    expect(forged.body).toEqual({ error: { code: 'PIP_WEBHOOK_REJECTED', message: 'the delivery could not be verified' } });
    const none = await fake.deliverEvents(hookUrl, [fake.userEvent('user.lifecycle.deactivate', users[0]!)], undefined);
    expect(none.status).toBe(401);
    const rejected = (await audits('webhook.rejected')).slice(rejectedBefore);
    expect(rejected.length).toBe(2);
    expect(rejected[0]).toMatchObject({ outcome: 'denied', actor: 'anonymous', details: { provider: 'okta', status: 401, reason: expect.stringContaining('does not carry the configured secret') } });
    expect(JSON.stringify(rejected)).not.toContain('not-the-secret-value-at-all');
    expect((await jobs()).length).toBe(before);
  });

  it('a valid delivery answers 2xx at once, and the change reaches the records, a new revision, /opal/pip-data and OPAL', async () => {
    const u = users[5]!;
    fake.updateUser(u.id, { department: 'Security', title: 'CISO' });
    const rev = await revision();
    const res = await fake.deliverEvents(hookUrl, [fake.userEvent('user.account.update_profile', u)], auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, duplicates: 0, job_id: expect.any(String) });
    const job = await waitForJob(t, res.body.job_id);
    expect(job).toMatchObject({ status: 'succeeded', trigger: 'webhook', mode: 'targeted', counters: { read: 1, upserted: 1 } });
    expect(await record('users', u.id)).toMatchObject({ department: 'Security', title: 'CISO' });
    expect(await revision()).toBe(rev + 1);

    const token = await dataToken(t, 'default');
    const doc = await t.app.inject({ method: 'GET', url: '/opal/pip-data/default/users', headers: { authorization: `Bearer ${token}` } });
    expect(doc.statusCode, doc.body).toBe(200);
    expect(doc.json()[u.profile.login.toLowerCase()]).toMatchObject({ department: 'Security', title: 'CISO' });

    await opal.waitFor((r) => r.some((x) => x.status < 300 && x.body.entries.some((e) => e.dst_path.endsWith('/users'))));
    const update = opal.accepted().find((x) => x.body.entries.some((e) => e.dst_path.endsWith('/users')))!;
    expect(update.body.entries.every((e) => e.topics.includes('policy_data/default'))).toBe(true);
    expect(update.headers.authorization).toBe(`Bearer ${DATASOURCE_TOKEN}`);
  });

  it('a replayed delivery is counted as duplicate: 200, no second job, no change, audited', async () => {
    const u = users[6]!;
    fake.updateUser(u.id, { title: 'Replay target' });
    const first = await fake.deliverEvents(hookUrl, [fake.userEvent('user.account.update_profile', u)], auth);
    expect(first.body.accepted).toBe(1);
    await waitForJob(t, first.body.job_id);
    const jobsBefore = (await jobs()).length;
    const rev = await revision();

    const replay = await fake.deliverEvents(hookUrl, [], auth, { payload: first.payload });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ accepted: 0, duplicates: 1, job_id: null });
    expect((await jobs()).length).toBe(jobsBefore);
    expect(await revision()).toBe(rev);
    const replayed = await audits('webhook.replayed');
    expect(replayed.at(-1)!.details).toMatchObject({ provider: 'okta', duplicates: 1, event_ids: first.uuids });
  });

  it('membership add / remove and a user deletion land as targeted changes (one job per delivery)', async () => {
    const [g] = [...fake.groups.values()];
    const joiner = users.find((u) => !fake.members.get(g!.id)!.has(u.id))!;
    const leaver = [...fake.members.get(g!.id)!][0]!;
    fake.addMember(g!.id, joiner.id);
    fake.removeMember(g!.id, leaver);
    const res = await fake.deliverEvents(hookUrl, [fake.membershipEvent('group.user_membership.add', joiner.id, g!.id), fake.membershipEvent('group.user_membership.remove', leaver, g!.id)], auth);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0 });
    const job = await waitForJob(t, res.body.job_id);
    expect(job.status).toBe('succeeded');
    expect(await record('memberships', `${g!.id}:user:${joiner.id}`)).toMatchObject({ group_id: g!.id, member_id: joiner.id });
    expect(await record('memberships', `${g!.id}:user:${leaver}`)).toBeUndefined();

    const doomed = users.find((u) => [...fake.members.values()].some((s) => s.has(u.id)) && u.id !== joiner.id && u.id !== leaver)!;
    const theirGroups = [...fake.members.entries()].filter(([, s]) => s.has(doomed.id)).map(([gid]) => gid);
    fake.setUserStatus(doomed.id, 'DEPROVISIONED');
    fake.deleteUser(doomed.id);
    const del = await fake.deliverEvents(hookUrl, [fake.userEvent('user.lifecycle.delete.initiated', doomed)], auth);
    expect((await waitForJob(t, del.body.job_id)).status).toBe('succeeded');
    expect(await record('users', doomed.id)).toBeUndefined();
    for (const gid of theirGroups) expect(await record('memberships', `${gid}:user:${doomed.id}`)).toBeUndefined();
  });

  it('a burst of deliveries reuses the cached config: secrets are not decrypted for each', async () => {
    const decrypts = async () => (await t.db.withSystem((trx) => trx('audit_events').where({ connection_id: id, action: 'secret.decrypt' }).whereRaw(`details->>'purpose' = 'webhook.verify'`))).length;
    const before = await decrypts();
    const burst = users.slice(10, 30).map((u) => fake.deliverEvents(hookUrl, [fake.userEvent('user.lifecycle.activate', u)], auth));
    const results = await Promise.all(burst);
    expect(results.every((r) => r.status === 200 && r.body.accepted === 1)).toBe(true);
    expect(new Set(results.map((r) => r.body.job_id)).size).toBe(20);
    expect((await decrypts()) - before).toBeLessThanOrEqual(1);
    for (const r of results) expect((await waitForJob(t, r.body.job_id)).status).toBe('succeeded');
  });

  it('acknowledges deliveries for a paused connection without queueing (the provider must not retry)', async () => {
    expect((await api('PUT', `/pip/connections/${id}`, { status: 'paused' })).statusCode).toBe(200);
    try {
      const before = (await jobs()).length;
      const res = await fake.deliverEvents(hookUrl, [fake.userEvent('user.lifecycle.suspend', users[33]!)], auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ accepted: 1, duplicates: 0, job_id: null, ignored: 'connection paused' });
      expect((await jobs()).length).toBe(before);
    } finally {
      await api('PUT', `/pip/connections/${id}`, { status: 'active' });
    }
  });

  it('refuses a body above the limit, and a payload that is not an event hook', async () => {
    const big = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: HOOK_SECRET }, body: JSON.stringify({ data: { events: [], pad: 'x'.repeat(70 * 1024) } }) });
    expect(big.status).toBe(413);
    const junk = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: HOOK_SECRET }, body: 'hello' });
    expect(junk.status).toBe(400);
  });
});
