import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { DIRECTORY_SCOPES as FAKE_SCOPES, googleThrottle, googleUser, startGoogleDirectoryFake, type GoogleDirectoryFake } from '../../test/fakes/google-directory.ts';
import { startHttpServer, type TestHttpServer } from '../../test/fakes/http-server.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadMessage, WebhookRequest } from '../sdk/types.ts';
import googleWorkspace from './index.ts';
import type { GoogleWorkspaceConfig } from './spec.ts';

const TOKEN = 'channel-token-0123456789abcdef';
const ADMIN = 'admin@example.org';
const stream = (name: string, fields: string[] = []): ConfiguredStream => ({ name, fields, primaryKey: ['id'], syncMode: 'full' });
const catalog = (...names: string[]): ConfiguredCatalog => ({ streams: names.map((n) => stream(n)) });
const deletesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'delete' && m.stream === s ? [m.key] : []));
const scopesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'scope_complete' && m.stream === s ? [m.scope] : []));

describe('google_workspace connector against the Directory API fake', () => {
  let fake: GoogleDirectoryFake;
  let config: GoogleWorkspaceConfig;

  beforeAll(async () => {
    fake = await startGoogleDirectoryFake();
    config = { serviceAccountKey: JSON.stringify(fake.key), adminEmail: ADMIN, customer: 'my_customer', readCustomSchemas: false, pushNotifications: true, channelToken: TOKEN, watchEvents: ['add', 'delete', 'makeAdmin', 'undelete', 'update'], channelLifetimeHours: 6, apiUrl: fake.apiUrl };
  });
  afterAll(async () => fake?.close());
  afterEach(() => fake.http.clearFaults());

  function seed(n: number) {
    fake.users.clear();
    fake.groups.clear();
    fake.members.clear();
    fake.addUser(googleUser(0, { primaryEmail: ADMIN, isAdmin: true }), false);
    for (let i = 1; i <= n; i++) fake.addUser(googleUser(i), false);
  }

  it('reads 10,000 users through 403 userRateLimitExceeded / quotaExceeded throttling, none lost or duplicated', async () => {
    seed(10_000);
    fake.http.inject({ match: (r) => r.path.endsWith('/users'), every: 4, reply: (r) => googleThrottle(r.query.has('pageToken') ? 'userRateLimitExceeded' : 'quotaExceeded') });
    const messages = await collect(googleWorkspace.read(config, catalog('users'), testReadContext()));
    const users = recordsOf(messages, 'users');
    expect(users).toHaveLength(10_001);
    expect(new Set(users.map((u) => u.id)).size).toBe(10_001);
    expect(users[1]).toMatchObject({ id: googleUser(1).id, email: 'user00001@example.org', display_name: 'User 00001', given_name: 'User', family_name: '00001', status: 'active', department: 'Sales', title: 'Engineer' });
    const throttled = fake.http.calls.filter((c) => c.injected);
    expect(throttled.length).toBeGreaterThanOrEqual(5);
    expect(messages.filter((m) => m.type === 'rate_limited' && /403 (userRateLimitExceeded|quotaExceeded)/.test(m.reason))).toHaveLength(throttled.length);
    // the token: RS256 assertion for the service account, impersonating the admin, read-only scopes
    expect(fake.tokens.issuedCount).toBeGreaterThan(0);
  });

  it('signs the JWT bearer assertion as Google documents it', async () => {
    seed(1);
    const before = fake.assertions.length;
    await googleWorkspace.check(config, testContext());
    // one token for both calls of the check
    expect(fake.assertions.length - before).toBe(1);
    const jwt = fake.assertions[before]!;
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'RS256', kid: fake.key.private_key_id, typ: 'JWT' });
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ iss: fake.key.client_email, sub: ADMIN, aud: fake.key.token_uri });
    expect(String(claims.scope).split(' ').sort()).toEqual([FAKE_SCOPES.groupReadonly, FAKE_SCOPES.userReadonly].sort());
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(3600);
  });

  it('reads groups and their members (paged), nested groups as group edges, the whole-customer member skipped', async () => {
    seed(450);
    fake.addGroup({ id: 'g-eng', email: 'eng@example.org', name: 'Engineering', directMembersCount: 451 }, [
      ...Array.from({ length: 450 }, (_, i) => ({ id: googleUser(i + 1).id, email: `user${i + 1}@example.org`, role: 'MEMBER' as const, type: 'USER' as const })),
      { id: 'C0abc', email: '', role: 'MEMBER', type: 'CUSTOMER' },
    ]);
    fake.addGroup({ id: 'g-all', email: 'all@example.org', name: 'All' }, [{ id: 'g-eng', email: 'eng@example.org', role: 'MEMBER', type: 'GROUP' }]);
    const messages = await collect(googleWorkspace.read(config, catalog('groups', 'memberships'), testReadContext()));
    expect(recordsOf(messages, 'groups')).toEqual([
      { id: 'g-eng', name: 'Engineering', kind: 'google_group', email: 'eng@example.org', directMembersCount: 451, attributes: { email: 'eng@example.org', directMembersCount: 451 } },
      { id: 'g-all', name: 'All', kind: 'google_group', email: 'all@example.org', attributes: { email: 'all@example.org' } },
    ]);
    const edges = recordsOf(messages, 'memberships');
    expect(edges).toHaveLength(451);
    expect(edges.at(-1)).toEqual({ id: 'g-all:group:g-eng', group_id: 'g-all', member_id: 'g-eng', member_type: 'group' });
    expect(fake.http.callsTo(/\/groups\/g-eng\/members$/)).toHaveLength(3);
  });

  it('check fails clearly when a scope is not delegated or the impersonated user is no admin', async () => {
    seed(1);
    await expect(googleWorkspace.check({ ...config, readCustomSchemas: true }, testContext())).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('unauthorized_client') });
    fake.addUser(googleUser(99, { primaryEmail: 'user@example.org' }), false);
    await expect(googleWorkspace.check({ ...config, adminEmail: 'user@example.org' }, testContext())).rejects.toMatchObject({ kind: 'permission', message: expect.stringContaining('Not Authorized') });
    await expect(googleWorkspace.check({ ...config, serviceAccountKey: '{"type":"service_account"}' }, testContext())).rejects.toMatchObject({ kind: 'config' });
  });

  it('discovers custom schemas as attributes when the scope is delegated', async () => {
    seed(1);
    fake.schemas.splice(0, Infinity, { schemaName: 'EmployeeInfo', fields: [{ fieldName: 'costCenter', fieldType: 'STRING' }] });
    fake.delegatedScopes.push(FAKE_SCOPES.schemaReadonly);
    try {
      const cat = await googleWorkspace.discover({ ...config, readCustomSchemas: true }, testContext());
      const users = cat.streams.find((s) => s.name === 'users')!;
      expect(users.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['isAdmin', 'orgUnitPath', 'custom_EmployeeInfo']));
      fake.addUser(googleUser(5, { customSchemas: { EmployeeInfo: { costCenter: 'CC-7' } } }), false);
      const messages = await collect(googleWorkspace.read({ ...config, readCustomSchemas: true }, { streams: [stream('users', ['id', 'email', 'attributes', 'custom_EmployeeInfo'])] }, testReadContext()));
      expect(recordsOf(messages, 'users').find((u) => u.id === googleUser(5).id)).toMatchObject({ custom_EmployeeInfo: { costCenter: 'CC-7' }, attributes: { custom_EmployeeInfo: { costCenter: 'CC-7' } } });
    } finally {
      fake.delegatedScopes.pop();
    }
  });

  it('targeted reads: users by id (gone → deleted), a user\'s groups and a group\'s members closed by scope_complete', async () => {
    seed(3);
    fake.addGroup({ id: 'g1', email: 'g1@example.org', name: 'G1' }, [{ id: googleUser(1).id, email: 'u1', role: 'MEMBER', type: 'USER' }]);
    const messages = await collect(
      googleWorkspace.read(config, catalog('users', 'memberships'), testReadContext({
        hints: [
          { stream: 'users', keys: [{ id: googleUser(1).id }, { id: '404' }] },
          { stream: 'memberships', keys: [{ member_id: googleUser(1).id }, { member_id: '404' }, { group_id: 'g1' }] },
        ],
      })),
    );
    expect(recordsOf(messages, 'users').map((u) => u.id)).toEqual([googleUser(1).id]);
    expect(deletesOf(messages, 'users')).toEqual([{ id: '404' }]);
    expect(scopesOf(messages, 'memberships')).toEqual([{ member_id: googleUser(1).id, member_type: 'user' }, { member_id: '404', member_type: 'user' }, { group_id: 'g1' }]);
    expect(recordsOf(messages, 'memberships').map((e) => e.id)).toEqual([`g1:user:${googleUser(1).id}`, `g1:user:${googleUser(1).id}`]);
  });
});

describe('google_workspace push notifications', () => {
  const config = { channelToken: TOKEN } as GoogleWorkspaceConfig;
  const note = (state: string, headers: Record<string, string> = {}, body?: unknown): WebhookRequest => ({
    method: 'POST',
    headers: { 'x-goog-channel-id': 'pip-1', 'x-goog-channel-token': TOKEN, 'x-goog-resource-state': state, 'x-goog-message-number': '7', ...headers },
    query: {},
    rawBody: Buffer.from(body ? JSON.stringify(body) : ''),
    body,
  });

  it('verifies the channel token, acknowledges the sync message, maps user events', async () => {
    expect(await googleWorkspace.webhooks!.handle(config, note('update', { 'x-goog-channel-token': 'channel-token-0123456789abcdeX' }, { id: '1' }))).toMatchObject({ kind: 'rejected', status: 401 });
    const noToken = note('update', {}, { id: '1' });
    delete noToken.headers['x-goog-channel-token'];
    expect(await googleWorkspace.webhooks!.handle(config, noToken)).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await googleWorkspace.webhooks!.handle({} as GoogleWorkspaceConfig, note('sync'))).toMatchObject({ kind: 'rejected', status: 403 });
    expect(await googleWorkspace.webhooks!.handle(config, note('sync', { 'x-goog-message-number': '1' }))).toMatchObject({ kind: 'handshake', status: 200 });
    expect(await googleWorkspace.webhooks!.handle(config, note('update', {}, { kind: 'admin#directory#user', id: '42', primaryEmail: 'a@example.org' }))).toEqual({ kind: 'events', events: [{ id: 'pip-1:7', type: 'users.update', hints: [{ stream: 'users', keys: [{ id: '42' }] }] }] });
    expect(await googleWorkspace.webhooks!.handle(config, note('delete', {}, { id: '43' }))).toEqual({
      kind: 'events',
      events: [{ id: 'pip-1:7', type: 'users.delete', deletes: [{ stream: 'users', keys: [{ id: '43' }] }], hints: [{ stream: 'memberships', keys: [{ member_id: '43' }] }] }],
    });
  });
});

describe('google_workspace watch channels', () => {
  let fake: GoogleDirectoryFake;
  let endpoint: TestHttpServer;
  let config: GoogleWorkspaceConfig;
  const seen: Array<{ state: string; status: number }> = [];

  beforeAll(async () => {
    fake = await startGoogleDirectoryFake({ channelTtlMs: 3_600_000 });
    fake.addUser(googleUser(0, { primaryEmail: ADMIN, isAdmin: true }), false);
    config = { serviceAccountKey: JSON.stringify(fake.key), adminEmail: ADMIN, customer: 'my_customer', readCustomSchemas: false, pushNotifications: true, channelToken: TOKEN, watchEvents: ['add', 'delete', 'makeAdmin', 'undelete', 'update'], channelLifetimeHours: 2, apiUrl: fake.apiUrl };
    endpoint = await startHttpServer(async (req, res) => {
      const out = await googleWorkspace.webhooks!.handle(config, { method: req.method, headers: req.headers, query: {}, rawBody: Buffer.from(req.body), body: req.body ? JSON.parse(req.body) : undefined });
      const status = out.kind === 'rejected' ? out.status : 200;
      seen.push({ state: String(req.headers['x-goog-resource-state']), status });
      res.writeHead(status).end();
    });
  });
  afterAll(async () => {
    await fake?.close();
    await endpoint?.close();
  });

  it('opens one channel per event (sync message acknowledged), replaces them on renewal, stops them on removal', async () => {
    const subs = googleWorkspace.subscriptions!;
    const callbackUrl = `${endpoint.url}/pip/webhooks/google_workspace/c1`;
    const first = await subs.ensure(config, testContext(), { callbackUrl });
    expect([...fake.channels.values()].map((c) => [c.event, c.token, c.address])).toEqual(config.watchEvents.map((e) => [e, TOKEN, callbackUrl]));
    await expect.poll(() => seen.filter((s) => s.state === 'sync' && s.status === 200).length).toBe(5);
    const life = Date.parse(first.expiresAt) - Date.now();
    expect(life).toBeGreaterThan(7_000_000);
    expect(subs.renewBefore(first).getTime()).toBeLessThan(Date.parse(first.expiresAt) - 600_000);

    const firstIds = new Set(fake.channels.keys());
    const second = await subs.ensure(config, testContext(), { callbackUrl, current: first });
    expect(fake.channels.size).toBe(5);
    expect([...fake.channels.keys()].some((id) => firstIds.has(id))).toBe(false);

    fake.addUser(googleUser(1));
    const deliveries = await fake.sendNotifications();
    expect(deliveries.map((d) => d.status)).toEqual([200]);

    await subs.remove(config, testContext(), second);
    expect(fake.channels.size).toBe(0);
  });

  it('stops the channels it opened when a later watch fails', async () => {
    fake.http.inject({ match: (r) => r.path.endsWith('/users/watch') && r.query.get('event') === 'undelete', reply: { status: 400, body: { error: { code: 400, message: 'Invalid value', errors: [{ reason: 'invalid', message: 'Invalid value' }] } } } });
    await expect(googleWorkspace.subscriptions!.ensure(config, testContext(), { callbackUrl: `${endpoint.url}/x` })).rejects.toMatchObject({ kind: 'config' });
    expect(fake.channels.size).toBe(0);
  });
});
