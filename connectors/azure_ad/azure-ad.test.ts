import crypto from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { graphGroup, graphUser, startGraphFake, type GraphFake } from '../../test/fakes/graph.ts';
import { startHttpServer, type TestHttpServer } from '../../test/fakes/http-server.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadMessage, SubscriptionState, WebhookRequest } from '../sdk/types.ts';
import azureAd from './index.ts';
import { csdlProperties } from './discover.ts';
import type { AzureAdConfig } from './spec.ts';

const SECRET = 'graph-client-secret-value';
const CLIENT_STATE = 'client-state-0123456789abcdef';

function stream(name: string, syncMode: 'full' | 'incremental' = 'incremental', fields: string[] = []): ConfiguredStream {
  return { name, fields, primaryKey: ['id'], syncMode };
}
const catalog = (...streams: ConfiguredStream[]): ConfiguredCatalog => ({ streams });
const deletesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'delete' && m.stream === s ? [m.key] : []));
const scopesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'scope_complete' && m.stream === s ? [m.scope] : []));

describe('azure_ad connector against the Graph fake', () => {
  let graph: GraphFake;
  let config: AzureAdConfig;
  const cert = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const thumbprint = crypto.randomBytes(20).toString('hex').toUpperCase();

  beforeAll(async () => {
    graph = await startGraphFake({ clientSecret: SECRET, certificate: { publicKey: cert.publicKey, thumbprintHex: thumbprint }, deltaPageSize: 200, deltaMembersPerEntry: 50 });
    config = {
      tenantId: graph.tenantId,
      clientId: graph.clientId,
      authMethod: 'client_secret',
      clientSecret: SECRET,
      transitiveMembers: false,
      changeNotifications: true,
      clientState: CLIENT_STATE,
      subscriptionLifetimeMinutes: 4320,
      authorityUrl: graph.origin,
      graphUrl: graph.graphUrl,
    };
  });
  afterAll(async () => graph?.close());
  afterEach(() => graph.http.clearFaults());

  function reset() {
    graph.users.clear();
    graph.groups.clear();
    graph.members.clear();
  }

  it('reads 10,000 users through 429 and 503 throttling without losing or duplicating one', async () => {
    reset();
    for (let i = 1; i <= 10_000; i++) graph.addUser(graphUser(i));
    // every 7th delta page is throttled; one 503 asks for a one-second pause
    graph.http.inject({ match: (r) => r.path.endsWith('/users/delta'), every: 7, reply: { status: 429, headers: { 'retry-after': '0' }, body: { error: { code: 'TooManyRequests', message: 'Too many requests' } } } });
    graph.http.inject({ match: (r) => r.path.endsWith('/users/delta') && r.query.has('$skiptoken'), times: 1, reply: { status: 503, headers: { 'retry-after': '1' }, body: { error: { code: 'serviceNotAvailable', message: 'Service unavailable' } } } });
    const messages = await collect(azureAd.read(config, catalog(stream('users')), testReadContext()));
    const users = recordsOf(messages, 'users');
    expect(users).toHaveLength(10_000);
    expect(new Set(users.map((u) => u.id)).size).toBe(10_000);
    expect(users[0]).toMatchObject({ email: 'User00001@Contoso.com', username: 'user00001@contoso.onmicrosoft.com', display_name: 'User 00001', status: 'active', department: 'Sales' });
    const waits = messages.filter((m) => m.type === 'rate_limited');
    expect(graph.http.calls.filter((c) => c.injected).length).toBeGreaterThanOrEqual(5);
    expect(waits.length).toBe(graph.http.calls.filter((c) => c.injected).length);
    expect(waits.some((w) => w.type === 'rate_limited' && w.waitMs === 1000)).toBe(true);
    expect(statesOf(messages, 'users').at(-1)?.deltaLink).toMatch(/\/users\/delta\?\$deltatoken=/);
    expect(messages.at(-1)).toEqual({ type: 'stream_status', stream: 'users', status: 'complete' });
  });

  it('a delta run applies adds, updates (re-read whole), removals and membership changes', async () => {
    reset();
    for (let i = 1; i <= 60; i++) graph.addUser(graphUser(i));
    const [g1, g2] = [graph.addGroup(graphGroup(1)), graph.addGroup(graphGroup(2))];
    // 60 members: the initial round repeats g1 over two entries (50 members each at most)
    for (let i = 1; i <= 60; i++) graph.addMember(g1.id, { type: 'user', id: graphUser(i).id });
    graph.addMember(g2.id, { type: 'group', id: g1.id });
    graph.addMember(g2.id, { type: 'user', id: graphUser(5).id });
    const cat = catalog(stream('users'), stream('groups'), stream('memberships'));
    const first = await collect(azureAd.read(config, cat, testReadContext()));
    expect(recordsOf(first, 'users')).toHaveLength(60);
    expect(recordsOf(first, 'groups').map((g) => g.id)).toEqual([g1.id, g2.id]);
    expect(recordsOf(first, 'memberships')).toHaveLength(62);
    expect(new Set(recordsOf(first, 'memberships').map((m) => m.id)).size).toBe(62);
    expect(recordsOf(first, 'memberships')).toContainEqual({ id: `${g2.id}:group:${g1.id}`, group_id: g2.id, member_id: g1.id, member_type: 'group' });
    const state = Object.fromEntries(['users', 'groups', 'memberships'].map((s) => [s, statesOf(first, s).at(-1)]));
    expect(state.groups?.deltaLink).toBe(state.memberships?.deltaLink);

    graph.addUser(graphUser(61));
    graph.updateUser(graphUser(2).id, { department: 'Legal' });
    graph.deleteUser(graphUser(3).id);
    graph.deleteUser(graphUser(4).id, true);
    graph.removeMember(g2.id, { type: 'user', id: graphUser(5).id });
    graph.addMember(g2.id, { type: 'user', id: graphUser(61).id });
    graph.deleteGroup(g1.id);

    const second = await collect(azureAd.read(config, cat, testReadContext({ state })));
    const users = recordsOf(second, 'users');
    expect(users.map((u) => u.id).sort()).toEqual([graphUser(2).id, graphUser(61).id].sort());
    // the update carried only `department`; the stored record keeps everything else
    expect(users.find((u) => u.id === graphUser(2).id)).toMatchObject({ department: 'Legal', email: 'User00002@Contoso.com', display_name: 'User 00002' });
    expect(deletesOf(second, 'users')).toEqual([{ id: graphUser(3).id }, { id: graphUser(4).id }]);
    expect(deletesOf(second, 'groups')).toEqual([{ id: g1.id }]);
    expect(scopesOf(second, 'memberships')).toEqual([{ group_id: g1.id }]);
    expect(recordsOf(second, 'memberships')).toEqual([{ id: `${g2.id}:user:${graphUser(61).id}`, group_id: g2.id, member_id: graphUser(61).id, member_type: 'user' }]);
    expect(deletesOf(second, 'memberships')).toEqual(expect.arrayContaining([{ id: `${g2.id}:user:${graphUser(5).id}` }, { id: `${g2.id}:group:${g1.id}` }]));
    expect(statesOf(second, 'users').at(-1)?.deltaLink).not.toBe(state.users?.deltaLink);

    // nothing changed since: an empty round that only moves the links
    const third = await collect(azureAd.read(config, cat, testReadContext({ state: Object.fromEntries(['users', 'groups', 'memberships'].map((s) => [s, statesOf(second, s).at(-1)])) })));
    expect(third.filter((m) => m.type === 'record' || m.type === 'delete')).toEqual([]);
  });

  it.each([
    { status: 410, code: 'resyncRequired' },
    { status: 400, code: 'syncStateNotFound' },
  ])('a stale delta token ($status $code) restarts from a fresh round that scopes the stream', async (stale) => {
    reset();
    for (let i = 1; i <= 12; i++) graph.addUser(graphUser(i));
    const first = await collect(azureAd.read(config, catalog(stream('users')), testReadContext()));
    graph.expireDeltaTokens(stale);
    graph.deleteUser(graphUser(7).id);
    const messages = await collect(azureAd.read(config, catalog(stream('users')), testReadContext({ state: { users: statesOf(first, 'users').at(-1) } })));
    expect(messages.some((m) => m.type === 'log' && m.level === 'warn' && /fresh delta round/.test(m.message))).toBe(true);
    expect(recordsOf(messages, 'users')).toHaveLength(11);
    expect(deletesOf(messages, 'users')).toEqual([]);
    const tail = messages.filter((m) => m.type !== 'rate_limited').slice(-3);
    expect(tail[0]).toMatchObject({ type: 'state', stream: 'users' });
    expect(tail[1]).toEqual({ type: 'scope_complete', stream: 'users', scope: {} });
    expect(graph.http.callsTo(/\/users\/delta$/).at(-1)?.query).toMatchObject({ $select: expect.stringContaining('userPrincipalName') });
  });

  it('reads transitive memberships (nested groups expanded) as a full stream', async () => {
    reset();
    for (let i = 1; i <= 3; i++) graph.addUser(graphUser(i));
    const [outer, inner] = [graph.addGroup(graphGroup(10)), graph.addGroup(graphGroup(11))];
    graph.addMember(outer.id, { type: 'group', id: inner.id });
    graph.addMember(outer.id, { type: 'user', id: graphUser(1).id });
    graph.addMember(inner.id, { type: 'user', id: graphUser(2).id });
    const messages = await collect(azureAd.read({ ...config, transitiveMembers: true }, catalog(stream('memberships', 'full')), testReadContext()));
    const edges = recordsOf(messages, 'memberships').map((e) => `${e.group_id === outer.id ? 'outer' : 'inner'}>${e.member_type}:${e.member_id}`).sort();
    expect(edges).toEqual(['inner>user:' + graphUser(2).id, 'outer>group:' + inner.id, 'outer>user:' + graphUser(1).id, 'outer>user:' + graphUser(2).id].sort());
    expect(graph.http.callsTo(/transitiveMembers$/)).toHaveLength(2);
  });

  it('authenticates with a certificate (client assertion with x5t) and names a wrong thumbprint', async () => {
    reset();
    graph.addUser(graphUser(1));
    const certConfig: AzureAdConfig = { ...config, authMethod: 'certificate', clientSecret: undefined, certificatePrivateKey: cert.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certificateThumbprint: thumbprint.match(/../g)!.join(':') };
    expect(await azureAd.check(certConfig, testContext())).toMatchObject({ canReadUsers: true });
    await expect(azureAd.check({ ...certConfig, certificateThumbprint: 'AA'.repeat(20) }, testContext())).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('AADSTS700027') });
    await expect(azureAd.check({ ...config, clientSecret: 'wrong' }, testContext())).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('AADSTS7000215') });
    expect(JSON.stringify(graph.http.calls)).not.toContain(SECRET);
  });

  it('check names the missing application permission', async () => {
    reset();
    graph.addUser(graphUser(1));
    const g = graph.addGroup(graphGroup(1));
    graph.addMember(g.id, { type: 'user', id: graphUser(1).id });
    graph.permissions = ['User.Read.All'];
    try {
      await expect(azureAd.check(config, testContext())).rejects.toMatchObject({ kind: 'permission', message: expect.stringContaining('Group.Read.All') });
    } finally {
      graph.permissions = ['User.Read.All', 'Group.Read.All', 'GroupMember.Read.All'];
    }
  });

  it('discovers user and group properties from $metadata and directory extension properties', async () => {
    graph.extensionProperties.splice(0, Infinity, { name: 'extension_b7d8e4fa_employeeCode', dataType: 'String', targetObjects: ['User'] });
    graph.permissions = ['User.Read.All', 'Group.Read.All', 'GroupMember.Read.All', 'Directory.Read.All'];
    try {
      const cat = await azureAd.discover(config, testContext());
      const users = cat.streams.find((s) => s.name === 'users')!;
      const names = users.fields.map((f) => f.name);
      expect(names).toEqual(expect.arrayContaining(['id', 'email', 'attributes', 'employeeId', 'onPremisesExtensionAttributes', 'extension_b7d8e4fa_employeeCode']));
      expect(names).not.toContain('userPrincipalName');
      expect(users.supportedSyncModes).toEqual(['full', 'incremental']);
      expect(users.cursorCandidates).toEqual([]);
      expect(cat.streams.find((s) => s.name === 'groups')!.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['securityEnabled', 'groupTypes']));
      expect(cat.streams.find((s) => s.name === 'memberships')!.supportedSyncModes).toContain('incremental');
    } finally {
      graph.permissions = ['User.Read.All', 'Group.Read.All', 'GroupMember.Read.All'];
    }
    // without Directory.Read.All the extension properties are skipped, discovery still works
    const ctx = testContext();
    const cat = await azureAd.discover({ ...config, transitiveMembers: true }, ctx);
    expect(cat.streams.find((s) => s.name === 'users')!.fields.map((f) => f.name)).not.toContain('extension_b7d8e4fa_employeeCode');
    expect(cat.streams.find((s) => s.name === 'memberships')!.supportedSyncModes).toEqual(['full']);
  });

  it('reads selected attributes: $select carries them and records hold them at the top level and under attributes', async () => {
    reset();
    graph.addUser(graphUser(1, { employeeId: 'E-1', extension_b7d8e4fa_employeeCode: 'X9', onPremisesExtensionAttributes: { extensionAttribute1: 'cost-center-7' } }));
    const messages = await collect(azureAd.read(config, catalog(stream('users', 'full', ['id', 'email', 'attributes', 'employeeId', 'extension_b7d8e4fa_employeeCode'])), testReadContext()));
    expect(recordsOf(messages, 'users')[0]).toMatchObject({ employeeId: 'E-1', extension_b7d8e4fa_employeeCode: 'X9', attributes: { employeeId: 'E-1', extension_b7d8e4fa_employeeCode: 'X9' } });
    expect(recordsOf(messages, 'users')[0]!.onPremisesExtensionAttributes).toBeUndefined();
    expect(graph.http.callsTo(/\/v1\.0\/users$/).at(-1)!.query.$select!.split(',')).toEqual(expect.arrayContaining(['employeeId', 'extension_b7d8e4fa_employeeCode', 'mail']));
  });

  it('targeted reads: users by id (missing ones deleted) and one group\'s memberships', async () => {
    reset();
    for (let i = 1; i <= 20; i++) graph.addUser(graphUser(i));
    const g = graph.addGroup(graphGroup(1));
    graph.addMember(g.id, { type: 'user', id: graphUser(1).id });
    const ids = Array.from({ length: 18 }, (_, i) => graphUser(i + 1).id);
    const before = graph.http.calls.length;
    const messages = await collect(
      azureAd.read(config, catalog(stream('users'), stream('memberships')), testReadContext({ hints: [{ stream: 'users', keys: [...ids, 'gone'].map((id) => ({ id })) }, { stream: 'memberships', keys: [{ group_id: g.id }, { group_id: 'no-such-group' }, { member_id: graphUser(1).id }] }] })),
    );
    expect(recordsOf(messages, 'users')).toHaveLength(18);
    expect(deletesOf(messages, 'users')).toEqual([{ id: 'gone' }]);
    expect(graph.http.calls.slice(before).filter((c) => c.path === '/v1.0/users')).toHaveLength(2); // 15 ids per filter
    expect(scopesOf(messages, 'memberships')).toEqual([{ group_id: g.id }, { group_id: 'no-such-group' }, { member_id: graphUser(1).id, member_type: 'user' }]);
    expect(recordsOf(messages, 'memberships')).toEqual([
      { id: `${g.id}:user:${graphUser(1).id}`, group_id: g.id, member_id: graphUser(1).id, member_type: 'user' },
      { id: `${g.id}:user:${graphUser(1).id}`, group_id: g.id, member_id: graphUser(1).id, member_type: 'user' },
    ]);
    expect(messages.some((m) => m.type === 'state')).toBe(false);
  });
});

describe('azure_ad change notifications', () => {
  const config = { tenantId: '11111111-2222-4333-8444-555555555555', clientState: CLIENT_STATE } as AzureAdConfig;
  const post = (body: unknown, query: Record<string, string> = {}): WebhookRequest => ({ method: 'POST', headers: { 'content-type': 'application/json' }, query, rawBody: Buffer.from(JSON.stringify(body)), body });
  const change = (over: Record<string, unknown> = {}) => ({ subscriptionId: 's1', changeType: 'updated', resource: 'Users/u1', resourceData: { id: 'u1' }, clientState: CLIENT_STATE, tenantId: config.tenantId, ...over });

  it('echoes the validation token as text/plain', async () => {
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 42';
    expect(await azureAd.webhooks!.handle(config, { method: 'POST', headers: { 'content-type': 'text/plain' }, query: { validationToken: token }, rawBody: Buffer.alloc(0), body: undefined })).toEqual({ kind: 'handshake', status: 200, contentType: 'text/plain; charset=utf-8', body: token });
  });

  it('rejects a delivery with a wrong clientState, another tenant, or no configured secret', async () => {
    expect(await azureAd.webhooks!.handle(config, post({ value: [change(), change({ clientState: 'not-the-secret-at-all' })] }))).toMatchObject({ kind: 'rejected', status: 403 });
    expect(await azureAd.webhooks!.handle(config, post({ value: [change({ clientState: undefined })] }))).toMatchObject({ kind: 'rejected' });
    expect(await azureAd.webhooks!.handle(config, post({ value: [change({ tenantId: '99999999-2222-4333-8444-555555555555' })] }))).toMatchObject({ kind: 'rejected', status: 403 });
    expect(await azureAd.webhooks!.handle({ ...config, clientState: undefined }, post({ value: [change()] }))).toMatchObject({ kind: 'rejected', status: 403 });
  });

  it('turns changes into targeted reads and deletes, and lifecycle events into renewals and delta reads', async () => {
    const out = await azureAd.webhooks!.handle(
      config,
      post({
        value: [
          change(),
          change({ changeType: 'deleted', resource: 'Users/u2', resourceData: { id: 'u2' } }),
          change({ resource: 'Groups/g1', resourceData: { id: 'g1' } }),
          { subscriptionId: 's1', lifecycleEvent: 'reauthorizationRequired', clientState: CLIENT_STATE, tenantId: config.tenantId },
          { subscriptionId: 's2', lifecycleEvent: 'missed', clientState: CLIENT_STATE, tenantId: config.tenantId },
        ],
      }),
    );
    expect(out.kind).toBe('events');
    const events = out.kind === 'events' ? out.events : [];
    expect(events.map((e) => e.type)).toEqual(['users.updated', 'users.deleted', 'groups.updated', 'subscription.reauthorizationRequired', 'subscription.missed']);
    expect(events[0]!.hints).toEqual([{ stream: 'users', keys: [{ id: 'u1' }] }]);
    expect(events[1]).toMatchObject({ deletes: [{ stream: 'users', keys: [{ id: 'u2' }] }], hints: [{ stream: 'memberships', keys: [{ member_id: 'u2' }] }] });
    expect(events[2]!.hints).toEqual([{ stream: 'groups', keys: [{ id: 'g1' }] }, { stream: 'memberships', keys: [{ group_id: 'g1' }] }]);
    expect(events[3]).toMatchObject({ renewSubscription: true, hints: [] });
    expect(events[4]!.hints).toEqual([{ stream: 'users', keys: [] }, { stream: 'groups', keys: [] }, { stream: 'memberships', keys: [] }]);
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
  });
});

describe('azure_ad subscriptions', () => {
  let graph: GraphFake;
  let endpoint: TestHttpServer;
  let config: AzureAdConfig;

  beforeAll(async () => {
    graph = await startGraphFake({ clientSecret: SECRET });
    config = { tenantId: graph.tenantId, clientId: graph.clientId, authMethod: 'client_secret', clientSecret: SECRET, transitiveMembers: false, changeNotifications: true, clientState: CLIENT_STATE, subscriptionLifetimeMinutes: 4320, authorityUrl: graph.origin, graphUrl: graph.graphUrl };
    // the service's webhook endpoint, answering with the connector's handler
    endpoint = await startHttpServer(async (req, res) => {
      const out = await azureAd.webhooks!.handle(config, { method: req.method, headers: req.headers, query: Object.fromEntries(req.url.searchParams), rawBody: Buffer.from(req.body), body: req.body ? JSON.parse(req.body) : undefined });
      if (out.kind === 'handshake') res.writeHead(out.status, { 'content-type': out.contentType }).end(out.body);
      else res.writeHead(out.kind === 'rejected' ? out.status : 202).end();
    });
  });
  afterAll(async () => {
    await graph?.close();
    await endpoint?.close();
  });

  it('creates users and groups subscriptions after the validation handshake, renews, recreates and removes them', async () => {
    const subs = azureAd.subscriptions!;
    const callbackUrl = `${endpoint.url}/pip/webhooks/azure_ad/c1`;
    const created = await subs.ensure(config, testContext(), { callbackUrl });
    expect([...graph.subscriptions.values()].map((s) => [s.resource, s.changeType, s.clientState, s.notificationUrl, s.lifecycleNotificationUrl])).toEqual([
      ['users', 'updated,deleted', CLIENT_STATE, callbackUrl, callbackUrl],
      ['groups', 'updated,deleted', CLIENT_STATE, callbackUrl, callbackUrl],
    ]);
    expect(graph.deliveries.filter((d) => d.kind === 'validation').map((d) => d.status)).toEqual([200, 200]);
    const lifetime = Date.parse(created.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(4300 * 60_000);
    const renewAt = subs.renewBefore(created).getTime();
    expect(renewAt).toBeGreaterThan(Date.now());
    expect(renewAt).toBeLessThan(Date.parse(created.expiresAt) - 3_600_000);

    // Graph lost the groups subscription: renewing recreates it, the users one is only extended
    const usersSub = [...graph.subscriptions.values()].find((s) => s.resource === 'users')!;
    graph.subscriptions.delete([...graph.subscriptions.values()].find((s) => s.resource === 'groups')!.id);
    const renewed: SubscriptionState = await subs.ensure({ ...config, subscriptionLifetimeMinutes: 6000 }, testContext(), { callbackUrl, current: created });
    expect(graph.subscriptions.size).toBe(2);
    expect(graph.subscriptions.has(usersSub.id)).toBe(true);
    expect(graph.http.callsTo(/\/subscriptions\//, 'PATCH').map((c) => c.status)).toEqual([200, 404]);
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(created.expiresAt));

    await subs.remove(config, testContext(), renewed);
    expect(graph.subscriptions.size).toBe(0);
    await subs.remove(config, testContext(), renewed); // already gone: no error
  });

  it('fails to subscribe when the endpoint does not echo the validation token', async () => {
    await expect(azureAd.subscriptions!.ensure(config, testContext(), { callbackUrl: `http://127.0.0.1:${await closedPort()}/nowhere` })).rejects.toMatchObject({ message: expect.stringContaining('validation') });
  });

  it('parses CSDL entity properties', () => {
    const xml = '<Schema><EntityType Name="user" BaseType="graph.directoryObject"><Property Name="a" Type="Edm.String"/><NavigationProperty Name="n" Type="graph.x"/><Property Name="b" Type="Collection(Edm.String)" Nullable="false"/></EntityType><EntityType Name="group"><Property Name="c" Type="Edm.Boolean"/></EntityType></Schema>';
    expect(csdlProperties(xml, 'user')).toEqual([{ name: 'a', type: 'Edm.String', nullable: true }, { name: 'b', type: 'Collection(Edm.String)', nullable: false }]);
    expect(csdlProperties(xml, 'group').map((p) => p.name)).toEqual(['c']);
    expect(csdlProperties(xml, 'device')).toEqual([]);
  });
});
