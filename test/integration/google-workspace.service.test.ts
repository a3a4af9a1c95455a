/**
 * Google Workspace through the whole service, against the Directory API fake: a full sync, watch
 * channels opened by the subscriptions pass (the `sync` message answered through the webhook
 * route), pushed user changes applied by targeted syncs, a wrong channel token refused, and the
 * channels stopped when the connection is paused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait, waitForJob } from '../helpers/sync.ts';
import { closedPort } from '../fakes/connector-context.ts';
import { googleUser, startGoogleDirectoryFake, type GoogleDirectoryFake } from '../fakes/google-directory.ts';

const TOKEN = 'e2e-channel-token-0123456789';
const ADMIN = 'admin@example.org';

describe.each(BACKENDS)('google_workspace through the service on %s', (backend) => {
  let t: TestApp;
  let fake: GoogleDirectoryFake;
  let connectionId: string;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const stored = async (stream: string) => (await t.db.knex('records').where({ connection_id: connectionId, stream })) as Array<{ data: Record<string, unknown> }>;
  const webhookJobs = async () => (await api('GET', `/pip/sync/jobs?connection_id=${connectionId}&trigger=webhook`)).json().items as Array<{ id: string }>;

  beforeAll(async () => {
    fake = await startGoogleDirectoryFake();
    fake.addUser(googleUser(0, { primaryEmail: ADMIN, isAdmin: true }), false);
    for (let i = 1; i <= 30; i++) fake.addUser(googleUser(i), false);
    fake.addGroup({ id: 'g-eng', email: 'eng@example.org', name: 'Engineering' }, [1, 2, 3].map((i) => ({ id: googleUser(i).id, email: `u${i}@example.org`, role: 'MEMBER' as const, type: 'USER' as const })));
    const port = await closedPort();
    t = await startTestApp(backend, { PIP_PUBLIC_URL: `http://127.0.0.1:${port}` }, { worker: true });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('lists the connector with a complete spec', async () => {
    const c = (await api('GET', '/pip/connectors/google_workspace')).json();
    expect(c).toMatchObject({ category: 'identity', auth_kinds: ['service_account'], capabilities: { webhooks: true, targeted_read: true } });
    expect(c.secret_fields.sort()).toEqual(['channelToken', 'serviceAccountKey']);
    expect(c.steps.flatMap((s: { fields: string[] }) => s.fields).sort()).toEqual(Object.keys(c.config_schema.properties).sort());
  });

  it('syncs users, groups and memberships', async () => {
    const created = await api('POST', '/pip/connections', {
      name: 'workspace',
      type: 'google_workspace',
      config: { serviceAccountKey: JSON.stringify(fake.key), adminEmail: ADMIN, pushNotifications: true, channelToken: TOKEN, apiUrl: fake.apiUrl },
    });
    expect(created.statusCode, created.body).toBe(201);
    connectionId = created.json().id;
    expect((await api('POST', `/pip/connections/${connectionId}/test`)).json()).toMatchObject({ ok: true });
    expect((await api('POST', `/pip/connections/${connectionId}/discover`)).statusCode).toBe(200);
    const mapped = await api('PUT', `/pip/connections/${connectionId}/streams`, { streams: [{ name: 'users' }, { name: 'groups' }, { name: 'memberships' }] });
    expect(mapped.statusCode, mapped.body).toBe(200);
    expect(await syncAndWait(t, connectionId)).toMatchObject({ status: 'succeeded', counters: { read: 35 } });
    expect(await stored('users')).toHaveLength(31);
    expect(await stored('memberships')).toHaveLength(3);
  });

  it('opens watch channels whose sync message the webhook route acknowledges, and applies pushed changes', async () => {
    await t.services.subscriptions.pass();
    expect(fake.channels.size).toBe(5);
    expect((await api('GET', `/pip/connections/${connectionId}/subscription`)).json()).toMatchObject({ status: 'active', failures: 0 });
    await expect.poll(() => fake.deliveries.filter((d) => d.state === 'sync' && d.status === 200).length).toBe(5);

    fake.updateUser(googleUser(2).id, { name: { givenName: 'Second', familyName: 'User', fullName: 'Second User' } });
    fake.deleteUser(googleUser(3).id);
    const deliveries = await fake.sendNotifications();
    expect(deliveries.map((d) => d.status)).toEqual([200, 200]);
    const jobs = await webhookJobs();
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(await waitForJob(t, j.id)).toMatchObject({ status: 'succeeded' });
    const users = await stored('users');
    expect(users.find((u) => u.data.id === googleUser(2).id)!.data.display_name).toBe('Second User');
    expect(users.find((u) => u.data.id === googleUser(3).id)).toBeUndefined();
    expect((await stored('memberships')).map((m) => m.data.member_id).sort()).toEqual([googleUser(1).id, googleUser(2).id].sort());
  });

  it('refuses a notification with a wrong channel token', async () => {
    fake.updateUser(googleUser(4).id, { suspended: true });
    const [refused] = await fake.sendNotifications({ token: 'not-the-channel-token-at-all' });
    expect(refused!.status).toBe(401);
    expect(await webhookJobs()).toHaveLength(2);
  });

  it('stops the channels when the connection is paused', async () => {
    const paused = await api('PUT', `/pip/connections/${connectionId}`, { status: 'paused' });
    expect(paused.statusCode, paused.body).toBe(200);
    const { tenant_id: tenantId } = await t.db.knex('connections').where({ id: connectionId }).first();
    await t.services.subscriptions.requestRenewal(tenantId, connectionId);
    await t.services.subscriptions.pass();
    expect(fake.channels.size).toBe(0);
    expect((await api('GET', `/pip/connections/${connectionId}/subscription`)).statusCode).toBe(404);
  });
});
