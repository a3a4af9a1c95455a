/**
 * Auth0 through the whole service, against the Auth0 fake: a tenant past the Management API's
 * 1,000-user paging limit synced completely (export job), then log stream deliveries through the
 * webhook route turned into targeted syncs (an update, a deletion with its role edges, a role
 * assignment), and a delivery with the wrong Authorization refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait, waitForJob } from '../helpers/sync.ts';
import { closedPort } from '../fakes/connector-context.ts';
import { auth0User, startAuth0Fake, type Auth0Fake } from '../fakes/auth0.ts';

const AUTHORIZATION = 'Bearer e2e-log-stream-token-0123456789';

describe.each(BACKENDS)('auth0 through the service on %s', (backend) => {
  let t: TestApp;
  let fake: Auth0Fake;
  let connectionId: string;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const stored = async (stream: string) => (await t.db.knex('records').where({ connection_id: connectionId, stream })) as Array<{ record_key: string; data: Record<string, unknown> }>;
  const hookUrl = () => `${t.config.publicUrl}/pip/webhooks/auth0/${connectionId}`;
  const lastWebhookJob = async () => {
    const items = (await api('GET', `/pip/sync/jobs?connection_id=${connectionId}&trigger=webhook`)).json().items as Array<{ id: string }>;
    return items[0] ? waitForJob(t, items[0].id) : undefined;
  };

  beforeAll(async () => {
    fake = await startAuth0Fake({ exportPolls: 1 });
    fake.seedUsers(Array.from({ length: 1_500 }, (_, i) => auth0User(i + 1)));
    fake.addRole({ id: 'rol_admin', name: 'admin' }, [auth0User(1).user_id, auth0User(2).user_id]);
    const port = await closedPort();
    t = await startTestApp(backend, { PIP_PUBLIC_URL: `http://127.0.0.1:${port}` }, { worker: true });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('lists the connector with a complete spec', async () => {
    const c = (await api('GET', '/pip/connectors/auth0')).json();
    expect(c).toMatchObject({ category: 'identity', capabilities: { webhooks: true, targeted_read: true } });
    expect(c.secret_fields.sort()).toEqual(['clientSecret', 'logStreamAuthorization']);
    expect(c.steps.flatMap((s: { fields: string[] }) => s.fields).sort()).toEqual(Object.keys(c.config_schema.properties).sort());
  });

  it('syncs a tenant with more than 1,000 users completely', async () => {
    const created = await api('POST', '/pip/connections', {
      name: 'auth0',
      type: 'auth0',
      config: { domain: fake.domain, clientId: fake.clientId, clientSecret: fake.clientSecret, managementBaseUrl: fake.origin, exportPollIntervalMs: 100, logStreamAuthorization: AUTHORIZATION },
    });
    expect(created.statusCode, created.body).toBe(201);
    connectionId = created.json().id;
    expect((await api('POST', `/pip/connections/${connectionId}/discover`)).statusCode).toBe(200);
    const mapped = await api('PUT', `/pip/connections/${connectionId}/streams`, { streams: [{ name: 'users' }, { name: 'roles' }, { name: 'role_assignments' }] });
    expect(mapped.statusCode, mapped.body).toBe(200);
    const job = await syncAndWait(t, connectionId);
    expect(job).toMatchObject({ status: 'succeeded', counters: { read: 1_503, upserted: 1_503 } });
    const users = await stored('users');
    expect(users).toHaveLength(1_500);
    expect(new Set(users.map((u) => u.data.email)).size).toBe(1_500);
    expect(fake.http.callsTo(/^\/exports\//)).toHaveLength(1);
  });

  it('applies log stream events: an update, a deletion with its role edges, a role assignment', async () => {
    fake.takeLogs();
    fake.updateUser(auth0User(10).user_id, { name: 'Renamed Ten' });
    fake.deleteUser(auth0User(1).user_id);
    fake.assignRole('rol_admin', [auth0User(3).user_id]);
    const r = await fake.streamLogs(hookUrl(), AUTHORIZATION);
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ accepted: 3, duplicates: 0 });
    const job = await lastWebhookJob();
    expect(job).toMatchObject({ status: 'succeeded', trigger: 'webhook', mode: 'targeted' });
    const users = await stored('users');
    expect(users).toHaveLength(1_499);
    expect(users.find((u) => u.data.id === auth0User(10).user_id)!.data.display_name).toBe('Renamed Ten');
    const edges = (await stored('role_assignments')).map((e) => e.data.principal_id).sort();
    expect(edges).toEqual([auth0User(2).user_id, auth0User(3).user_id].sort());
  });

  it('refuses a delivery with the wrong Authorization value and treats a replay as a duplicate', async () => {
    fake.updateUser(auth0User(11).user_id, { name: 'Forged' });
    const events = fake.takeLogs();
    const refused = await fake.streamLogs(hookUrl(), 'Bearer not-the-configured-token', events);
    expect(refused.status).toBe(401);
    expect((await stored('users')).find((u) => u.data.id === auth0User(11).user_id)!.data.display_name).not.toBe('Forged');
    const accepted = await fake.streamLogs(hookUrl(), AUTHORIZATION, events);
    expect(JSON.parse(accepted.body)).toMatchObject({ accepted: 1 });
    const replay = await fake.streamLogs(hookUrl(), AUTHORIZATION, events);
    expect(JSON.parse(replay.body)).toMatchObject({ accepted: 0, duplicates: 1 });
    await lastWebhookJob();
    expect((await stored('users')).find((u) => u.data.id === auth0User(11).user_id)!.data.display_name).toBe('Forged');
  });
});
