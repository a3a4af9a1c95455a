/**
 * Entra ID through the whole service, against the Graph fake: a delta sync into the record store,
 * the change-notification subscription (validation handshake through the webhook route), a pushed
 * change applied by a targeted sync, a forged clientState refused, and a stale delta token
 * resynced without losing or churning stored records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait } from '../helpers/sync.ts';
import { closedPort } from '../fakes/connector-context.ts';
import { graphGroup, graphUser, startGraphFake, type GraphFake } from '../fakes/graph.ts';

const SECRET = 'graph-client-secret-value';
const CLIENT_STATE = 'e2e-client-state-0123456789';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(BACKENDS)('azure_ad through the service on %s', (backend) => {
  let t: TestApp;
  let graph: GraphFake;
  let connectionId: string;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const users = async () => (await t.db.knex('records').where({ connection_id: connectionId, stream: 'users' }).orderBy('record_key')) as Array<{ record_key: string; data: Record<string, unknown>; revision: string }>;
  const webhookJobs = async () => (await api('GET', `/pip/sync/jobs?connection_id=${connectionId}&trigger=webhook`)).json().items as Array<{ id: string; status: string }>;

  beforeAll(async () => {
    graph = await startGraphFake({ clientSecret: SECRET, deltaPageSize: 20 });
    for (let i = 1; i <= 40; i++) graph.addUser(graphUser(i));
    const g = graph.addGroup(graphGroup(1));
    for (let i = 1; i <= 10; i++) graph.addMember(g.id, { type: 'user', id: graphUser(i).id });
    graph.discardPendingNotifications();
    const port = await closedPort();
    t = await startTestApp(backend, { PIP_PUBLIC_URL: `http://127.0.0.1:${port}` }, { worker: true });
    await t.app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
    await graph?.close();
  });

  it('lists the connector with a complete spec', async () => {
    const c = (await api('GET', '/pip/connectors/azure_ad')).json();
    expect(c).toMatchObject({ category: 'identity', capabilities: { incremental: 'delta', webhooks: true, targeted_read: true } });
    expect(c.secret_fields.sort()).toEqual(['certificatePrivateKey', 'clientSecret', 'clientState']);
    const props = Object.keys(c.config_schema.properties);
    expect(c.steps.flatMap((s: { fields: string[] }) => s.fields).sort()).toEqual(props.sort());
  });

  it('syncs users, groups and memberships by delta queries into the record store', async () => {
    const created = await api('POST', '/pip/connections', {
      name: 'entra',
      type: 'azure_ad',
      config: { tenantId: graph.tenantId, clientId: graph.clientId, authMethod: 'client_secret', clientSecret: SECRET, changeNotifications: true, clientState: CLIENT_STATE, authorityUrl: graph.origin, graphUrl: graph.graphUrl },
    });
    expect(created.statusCode, created.body).toBe(201);
    connectionId = created.json().id;
    expect((await api('POST', `/pip/connections/${connectionId}/discover`)).statusCode).toBe(200);
    const mapped = await api('PUT', `/pip/connections/${connectionId}/streams`, { streams: ['users', 'groups', 'memberships'].map((name) => ({ name, sync_mode: 'incremental' })) });
    expect(mapped.statusCode, mapped.body).toBe(200);
    const job = await syncAndWait(t, connectionId);
    expect(job).toMatchObject({ status: 'succeeded', counters: { read: 51, upserted: 51 } });
    const stored = await users();
    expect(stored).toHaveLength(40);
    expect(stored[0]!.data).toMatchObject({ id: graphUser(1).id, email: 'User00001@Contoso.com', status: 'active' });
    const state = await t.db.knex('sync_state').where({ connection_id: connectionId }).first();
    expect(state.stream_state.users.deltaLink).toContain('$deltatoken=');
  });

  it('subscribes (validation handshake through the webhook route) and applies a pushed change', async () => {
    await t.services.subscriptions.pass();
    expect(graph.subscriptions.size).toBe(2);
    expect(graph.deliveries.filter((d) => d.kind === 'validation').every((d) => d.status === 200 && d.url === `${t.config.publicUrl}/pip/webhooks/azure_ad/${connectionId}`)).toBe(true);
    const sub = (await api('GET', `/pip/connections/${connectionId}/subscription`)).json();
    expect(sub).toMatchObject({ status: 'active', failures: 0, last_error: null });

    graph.updateUser(graphUser(2).id, { department: 'Legal' });
    const [delivery] = await graph.sendChangeNotifications();
    expect(delivery!.status).toBe(200);
    await until('the pushed change', async () => (await users()).find((u) => u.data.id === graphUser(2).id && u.data.department === 'Legal'));
    const jobs = await webhookJobs();
    expect(jobs).toHaveLength(1);
    // the targeted read re-read the whole user: nothing lost
    expect((await users()).find((u) => u.data.id === graphUser(2).id)!.data).toMatchObject({ email: 'User00002@Contoso.com', display_name: 'User 00002' });
  });

  it('rejects a notification whose clientState is wrong, and queues nothing for it', async () => {
    graph.updateUser(graphUser(3).id, { department: 'Forged' });
    const [delivery] = await graph.sendChangeNotifications({ clientState: 'forged-client-state-value' });
    expect(delivery!.status).toBe(403);
    expect(await webhookJobs()).toHaveLength(1);
    expect((await users()).find((u) => u.data.id === graphUser(3).id)!.data.department).not.toBe('Forged');
  });

  it('a missed-notifications lifecycle event queues a delta read', async () => {
    const sub = [...graph.subscriptions.values()][0]!;
    const delivery = await graph.sendLifecycleNotification(sub.id, 'missed');
    expect(delivery.status).toBe(200);
    await until('the delta read', async () => (await webhookJobs()).length === 2 && (await webhookJobs()).every((j) => j.status === 'succeeded'));
    // the delta read picked up the change whose notification was refused
    expect((await users()).find((u) => u.data.id === graphUser(3).id)!.data.department).toBe('Forged');
  });

  it('a stale delta token (410) leads to a full resync that keeps every record and drops what was deleted meanwhile', async () => {
    const before = await users();
    graph.expireDeltaTokens();
    graph.deleteUser(graphUser(7).id);
    const job = await syncAndWait(t, connectionId);
    expect(job.status).toBe('succeeded');
    expect(job.logs.some((l: { message: string }) => /fresh delta round/.test(l.message))).toBe(true);
    const after = await users();
    expect(after.map((u) => u.data.id)).toEqual(before.map((u) => u.data.id).filter((id) => id !== graphUser(7).id));
    // unchanged users were not rewritten
    const rev = new Map(before.map((u) => [u.record_key, u.revision]));
    expect(after.every((u) => rev.get(u.record_key) === u.revision)).toBe(true);
    expect(job.counters).toMatchObject({ upserted: 0 });
    const edges = await t.db.knex('records').where({ connection_id: connectionId, stream: 'memberships' });
    expect(edges.map((e: { data: { member_id: string } }) => e.data.member_id)).not.toContain(graphUser(7).id);
    expect(edges).toHaveLength(9);
  });
});
