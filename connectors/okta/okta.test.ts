import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import okta from './index.ts';
import { oktaWebhooks } from './webhooks.ts';
import { startFakeOkta, type FakeOkta, type OktaCall } from '../../test/fakes/okta.ts';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import type { ConfiguredCatalog, ReadMessage, WebhookRequest } from '../sdk/types.ts';
import { SourceError } from '../sdk/errors.ts';

const catalog = (mode: 'full' | 'incremental' = 'full', streams = ['users', 'groups', 'memberships']): ConfiguredCatalog => ({
  streams: streams.map((name) => ({ name, fields: [], primaryKey: ['id'], syncMode: mode, cursorField: mode === 'incremental' && name !== 'memberships' ? 'updated_at' : undefined })),
});

const ids = (msgs: ReadMessage[], stream: string) => recordsOf(msgs, stream).map((r) => r.id as string);

/** the call log shows no request in a bucket while its last answer said Remaining 0 before Reset */
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

async function serviceAppKeys() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { pem: await exportPKCS8(privateKey), jwk: { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256' } };
}

describe('okta connector: a large org through rate limits', () => {
  let fake: FakeOkta;
  beforeAll(async () => {
    fake = await startFakeOkta({ rateLimit: { windowMs: 1000, limit: 600, buckets: { '/api/v1/groups/{id}/users': 150, '/api/v1/users': 20 } } });
    fake.seed({ users: 10_000, groups: 500 });
    // some deactivated users: listed separately, kept with their status
    for (const u of [...fake.users.values()].slice(0, 25)) fake.setUserStatus(u.id, 'DEPROVISIONED');
  });
  afterAll(async () => fake?.close());

  it('reads 10,000 users and 500 groups with their memberships through injected 429s without losing or duplicating a record', async () => {
    fake.resetCalls();
    fake.inject429({ bucket: '/api/v1/users', atCalls: [4, 19, 33] });
    fake.inject429({ bucket: '/api/v1/groups/{id}/users', every: 97 });
    fake.inject429({ bucket: '/api/v1/groups', atCalls: [2] });
    const config = { orgUrl: fake.url, apiToken: fake.apiToken };
    const msgs = await collect(okta.read(config, catalog(), testReadContext()));
    fake.clearFaults();

    const users = ids(msgs, 'users');
    expect(users).toHaveLength(10_000);
    expect(new Set(users).size).toBe(10_000);
    expect(new Set(users)).toEqual(new Set(fake.users.keys()));
    const deprovisioned = recordsOf(msgs, 'users').filter((u) => u.status === 'deprovisioned');
    expect(deprovisioned).toHaveLength(25);

    const groups = ids(msgs, 'groups');
    expect(groups).toHaveLength(500);
    expect(new Set(groups)).toEqual(new Set(fake.groups.keys()));

    const expectedEdges = [...fake.members.entries()].flatMap(([g, set]) => [...set].map((u) => `${g}:user:${u}`));
    const edges = ids(msgs, 'memberships');
    expect(edges.length).toBe(expectedEdges.length);
    expect(new Set(edges)).toEqual(new Set(expectedEdges));

    // the fake saw only the injected 429s, and never a call inside a spent window
    const calls = fake.calls;
    const throttled = calls.filter((c) => c.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(8);
    expect(throttled.every((c) => c.injected)).toBe(true);
    expect(budgetViolations(calls)).toEqual([]);

    // after each 429 the same page is asked again: same path, same cursor, same filter
    for (const t of throttled) {
      const next = calls.slice(calls.indexOf(t) + 1).find((c) => c.bucket === t.bucket)!;
      expect(next.path).toBe(t.path);
      expect(next.query.after).toBe(t.query.after);
      expect(next.query.filter).toBe(t.query.filter);
    }
    // pages are 200 wide and every cursor was asked for once successfully
    const userPages = calls.filter((c) => c.path === '/api/v1/users' && c.status === 200);
    expect(userPages.every((c) => c.query.limit === '200')).toBe(true);
    const cursors = userPages.map((c) => `${c.query.filter ?? ''}|${c.query.after ?? ''}`);
    expect(new Set(cursors).size).toBe(cursors.length);

    // every wait was reported, and the states carry high-water marks
    const waits = msgs.filter((m) => m.type === 'rate_limited');
    expect(waits.length).toBeGreaterThanOrEqual(throttled.length);
    expect(waits.some((m) => m.type === 'rate_limited' && /429/.test(m.reason))).toBe(true);
    expect(statesOf(msgs, 'users')).toEqual([{ since: expect.any(String) }]);
    expect(statesOf(msgs, 'memberships')).toEqual([{ since: expect.any(String) }]);
  });
});

describe('okta connector: the rate-limit budget', () => {
  it('waits for X-Rate-Limit-Reset when Remaining reaches 0 instead of spending a 429', async () => {
    const fake = await startFakeOkta({ rateLimit: { windowMs: 2000, limit: 3 } });
    try {
      fake.seed({ users: 16, groups: 0 });
      const msgs = await collect(okta.read({ orgUrl: fake.url, apiToken: fake.apiToken, pageSize: 2, deactivatedUsers: 'delete' }, catalog('full', ['users']), testReadContext()));
      expect(ids(msgs, 'users')).toHaveLength(16);
      const calls = fake.calls;
      expect(calls.filter((c) => c.status === 200 && c.remaining === 0).length).toBeGreaterThanOrEqual(2);
      expect(calls.some((c) => c.status === 429)).toBe(false);
      expect(budgetViolations(calls)).toEqual([]);
      expect(msgs.filter((m) => m.type === 'rate_limited' && /budget: 0 of 3 calls left/.test(m.reason)).length).toBeGreaterThanOrEqual(2);
    } finally {
      await fake.close();
    }
  });
});

describe('okta connector', () => {
  let fake: FakeOkta;
  const config = () => ({ orgUrl: fake.url, apiToken: fake.apiToken });
  beforeAll(async () => {
    fake = await startFakeOkta({ customAttributes: { clearance: { type: 'integer', title: 'Clearance level' }, costCenterCode: { type: 'string' } } });
    fake.seed({ users: 450, groups: 12 });
  });
  afterAll(async () => fake?.close());
  afterEach(() => {
    fake.clearFaults();
    fake.apiTokenDenied.clear();
  });

  it('normalizes users and groups: status lowercased, profile extras under attributes and top-level, no nulls', async () => {
    const u = fake.addUser({ login: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', profile: { displayName: 'Ada L.', department: 'R&D', managerId: '00u-boss', clearance: 3, costCenterCode: 'CC-1', mobilePhone: null } });
    fake.setUserStatus(u.id, 'SUSPENDED');
    const msgs = await collect(okta.read(config(), catalog('full', ['users', 'groups']), testReadContext()));
    const ada = recordsOf(msgs, 'users').find((r) => r.id === u.id)!;
    expect(ada).toMatchObject({ id: u.id, email: 'ada@example.com', username: 'ada@example.com', display_name: 'Ada L.', given_name: 'Ada', family_name: 'Lovelace', status: 'suspended', department: 'R&D', manager_id: '00u-boss', updated_at: fake.users.get(u.id)!.lastUpdated, clearance: 3, costCenterCode: 'CC-1' });
    expect(ada.attributes).toEqual({ clearance: 3, costCenterCode: 'CC-1' });
    expect(Object.values(ada).includes(null)).toBe(false);
    const g = recordsOf(msgs, 'groups')[0]!;
    expect(g).toMatchObject({ id: expect.stringMatching(/^00g/), name: 'Group 1', description: 'Team 1', kind: 'okta_group' });
  });

  it('an incremental run reads only what changed since the marks, and re-reads members only of groups whose membership moved', async () => {
    // marks never pass the Date header (whole seconds) of a listing's first page: let changes age
    const settle = () => new Promise((r) => setTimeout(r, 1100));
    await settle();
    const first = await collect(okta.read(config(), catalog('incremental'), testReadContext()));
    const state = Object.fromEntries(['users', 'groups', 'memberships'].map((s) => [s, statesOf(first, s).at(-1)]));
    expect(state.users?.since).toBeDefined();

    const users = [...fake.users.values()];
    const groups = [...fake.groups.values()];
    fake.updateUser(users[3]!.id, { title: 'Director' });
    fake.setUserStatus(users[4]!.id, 'DEPROVISIONED');
    fake.updateGroup(groups[2]!.id, { name: 'Renamed' });
    const leaving = [...fake.members.get(groups[5]!.id)!][0]!;
    fake.removeMember(groups[5]!.id, leaving);
    fake.addMember(groups[7]!.id, users[0]!.id);
    await settle();
    fake.resetCalls();

    const second = await collect(okta.read(config(), catalog('incremental'), testReadContext({ state })));
    expect(ids(second, 'users').sort()).toEqual([users[3]!.id, users[4]!.id].sort());
    expect(recordsOf(second, 'users').find((u) => u.id === users[4]!.id)!.status).toBe('deprovisioned');
    expect(ids(second, 'groups')).toEqual([groups[2]!.id]);
    const edges = recordsOf(second, 'memberships');
    expect(new Set(edges.map((e) => e.group_id))).toEqual(new Set([groups[5]!.id, groups[7]!.id]));
    expect(edges.some((e) => e.member_id === leaving && e.group_id === groups[5]!.id)).toBe(false);
    expect(edges.some((e) => e.member_id === users[0]!.id && e.group_id === groups[7]!.id)).toBe(true);
    const scopes = second.filter((m) => m.type === 'scope_complete');
    expect(scopes).toEqual([
      { type: 'scope_complete', stream: 'memberships', scope: { group_id: groups[5]!.id } },
      { type: 'scope_complete', stream: 'memberships', scope: { group_id: groups[7]!.id } },
    ].sort((a, b) => a.scope.group_id.localeCompare(b.scope.group_id)));
    // filtered listings only; members read for two groups
    const listings = fake.calls.filter((c) => c.path === '/api/v1/users' || c.path === '/api/v1/groups');
    expect(listings.every((c) => /gt "/.test(c.query.filter ?? ''))).toBe(true);
    expect(fake.calls.filter((c) => c.bucket === '/api/v1/groups/{id}/users')).toHaveLength(2);
    // marks moved forward
    const next = statesOf(second, 'users').at(-1)!;
    expect(Date.parse(next.since as string)).toBeGreaterThan(Date.parse(state.users!.since as string));

    // nothing changed: nothing read, marks kept
    const third = await collect(okta.read(config(), catalog('incremental'), testReadContext({ state: { users: next, groups: statesOf(second, 'groups').at(-1), memberships: statesOf(second, 'memberships').at(-1) } })));
    expect(recordsOf(third)).toHaveLength(0);
    expect(statesOf(third, 'users')).toEqual([next]);
  });

  it('a change made while the listing pages is read again next time (the mark never passes the server clock at the start)', async () => {
    const state = { users: { since: new Date(Date.now() - 60_000).toISOString() } };
    const u = fake.addUser({ login: 'late@example.com' });
    // a user updated "in the future" relative to the listing start must not move the mark past the start
    fake.users.get(u.id)!.lastUpdated = new Date(Date.now() + 120_000).toISOString();
    const msgs = await collect(okta.read(config(), catalog('incremental', ['users']), testReadContext({ state })));
    expect(ids(msgs, 'users')).toContain(u.id);
    const mark = Date.parse(statesOf(msgs, 'users')[0]!.since as string);
    expect(mark).toBeLessThanOrEqual(Date.now());
  });

  it('targeted reads: a user, a deleted user (delete + its memberships), an added and a removed membership edge, a group', async () => {
    const [a, b, c] = [...fake.users.values()].slice(10, 13);
    const g = [...fake.groups.values()][1]!;
    fake.addMember(g.id, a!.id);
    const gone = fake.addUser({ login: 'gone@example.com' });
    fake.deleteUser(gone.id);
    const notMember = `${g.id}:user:${c!.id}`;
    fake.members.get(g.id)!.delete(c!.id);
    const hints = [
      { stream: 'users', keys: [{ id: b!.id }, { id: gone.id }] },
      { stream: 'memberships', keys: [{ id: `${g.id}:user:${a!.id}` }, { id: notMember }] },
      { stream: 'groups', keys: [{ id: g.id }] },
    ];
    const msgs = await collect(okta.read(config(), catalog('full'), testReadContext({ hints })));
    expect(ids(msgs, 'users')).toEqual([b!.id]);
    expect(msgs).toContainEqual({ type: 'delete', stream: 'users', key: { id: gone.id } });
    expect(msgs).toContainEqual({ type: 'scope_complete', stream: 'memberships', scope: { member_id: gone.id } });
    expect(recordsOf(msgs, 'memberships')).toEqual([{ id: `${g.id}:user:${a!.id}`, group_id: g.id, member_id: a!.id, member_type: 'user' }]);
    expect(msgs).toContainEqual({ type: 'delete', stream: 'memberships', key: { id: notMember } });
    expect(ids(msgs, 'groups')).toEqual([g.id]);
  });

  it('a hint without keys is the normal read of that stream', async () => {
    const msgs = await collect(okta.read(config(), catalog('full', ['groups']), testReadContext({ hints: [{ stream: 'groups', keys: [] }] })));
    expect(ids(msgs, 'groups').length).toBe(fake.groups.size);
    expect(msgs).toContainEqual({ type: 'stream_status', stream: 'groups', status: 'complete' });
  });

  it('deactivatedUsers: delete turns DEPROVISIONED users into deletes', async () => {
    const u = fake.addUser({ login: 'bye@example.com' });
    fake.setUserStatus(u.id, 'DEPROVISIONED');
    const msgs = await collect(okta.read({ ...config(), deactivatedUsers: 'delete' } as Record<string, unknown>, catalog('incremental', ['users']), testReadContext({ state: { users: { since: new Date(Date.now() - 60_000).toISOString() } } })));
    expect(msgs).toContainEqual({ type: 'delete', stream: 'users', key: { id: u.id } });
    expect(ids(msgs, 'users')).not.toContain(u.id);
  });

  it('check proves the token and both read permissions; 401 is auth, 403 names what is missing, no secret in messages', async () => {
    const ok = await okta.check(config(), testContext());
    expect(ok).toMatchObject({ canReadUsers: true, canReadGroups: true, authMethod: 'api_token' });
    expect(fake.calls.filter((c) => c.path === '/api/v1/users').at(-1)!.query.limit).toBe('1');

    const wrong = 'ssws-wrong-token-value-1234567890';
    const bad = await okta.check({ ...config(), apiToken: wrong }, testContext()).catch((e) => e);
    expect(bad).toBeInstanceOf(SourceError);
    expect(bad.kind).toBe('auth');
    expect(bad.message).toContain('401 E0000011');
    expect(bad.message).not.toContain(wrong);

    fake.apiTokenDenied.add('/api/v1/groups');
    const denied = await okta.check(config(), testContext()).catch((e) => e);
    expect(denied.kind).toBe('permission');
    expect(denied.message).toMatch(/403 E0000006.*\/api\/v1\/groups/);
  });

  it('a service app authenticates with a private_key_jwt client assertion; a missing scope is named', async () => {
    const keys = await serviceAppKeys();
    fake.oauth.register({ clientId: '0oa-service', tokenEndpointAuth: 'private_key_jwt', publicJwk: keys.jwk, scopes: ['okta.users.read', 'okta.groups.read'] });
    const sa = { orgUrl: fake.url, authMethod: 'service_app', clientId: '0oa-service', privateKey: keys.pem, keyId: 'key-1' };
    fake.resetCalls();
    const msgs = await collect(okta.read(sa, catalog('full', ['groups']), testReadContext()));
    expect(ids(msgs, 'groups').length).toBe(fake.groups.size);
    expect(fake.oauth.tokenCalls).toEqual([expect.objectContaining({ grantType: 'client_credentials', clientId: '0oa-service', status: 200 })]);
    expect(fake.calls.every((c) => c.auth === 'bearer')).toBe(true);

    const onlyUsers = await okta.check({ ...sa, scopes: ['okta.users.read'] }, testContext()).catch((e) => e);
    expect(onlyUsers.kind).toBe('permission');
    expect(onlyUsers.message).toContain('okta.groups.read');
    expect(onlyUsers.detail.missingScope).toBe('okta.groups.read');
    expect(onlyUsers.message).not.toContain('BEGIN PRIVATE KEY');

    // the wrong key: the token endpoint refuses the assertion
    const other = await serviceAppKeys();
    const refused = await okta.check({ ...sa, privateKey: other.pem }, testContext()).catch((e) => e);
    expect(refused.kind).toBe('auth');
    expect(refused.message).toContain('invalid_client');
  });

  it('discovery lists the normalized streams with the schema attributes as extra user fields', async () => {
    const cat = await okta.discover(config(), testContext());
    expect(cat.streams.map((s) => s.name)).toEqual(['users', 'groups', 'memberships']);
    const users = cat.streams[0]!;
    const extra = users.fields.filter((f) => /also under attributes/.test(f.description ?? ''));
    expect(extra.find((f) => f.name === 'clearance')).toMatchObject({ type: 'integer', description: expect.stringContaining('Clearance level') });
    expect(extra.find((f) => f.name === 'costCenterCode')).toMatchObject({ type: 'string' });
    expect(extra.find((f) => f.name === 'employeeNumber')).toBeDefined();
    expect(extra.some((f) => f.name === 'email' || f.name === 'login')).toBe(false);
    expect(users.supportedSyncModes).toEqual(['full', 'incremental']);
    expect(cat.streams[2]).toMatchObject({ name: 'memberships', supportedSyncModes: ['full', 'incremental'], cursorCandidates: [] });
  });

  it('discovery without okta.schemas.read infers attributes from user profiles', async () => {
    const keys = await serviceAppKeys();
    fake.oauth.register({ clientId: '0oa-noschema', tokenEndpointAuth: 'private_key_jwt', publicJwk: keys.jwk, scopes: ['okta.users.read', 'okta.groups.read'] });
    const cat = await okta.discover({ orgUrl: fake.url, authMethod: 'service_app', clientId: '0oa-noschema', privateKey: keys.pem }, testContext());
    const names = cat.streams[0]!.fields.map((f) => f.name);
    expect(names).toContain('employeeNumber');
    expect(names).not.toContain('clearance');
    expect(fake.calls.filter((c) => c.bucket === '/api/v1/meta/schemas/user/default').at(-1)!.status).toBe(403);
  });

  it('the fake pages like Okta: limit capped at 200, opaque after cursors in Link headers, Okta error bodies', async () => {
    const res = await fetch(`${fake.url}/api/v1/users?limit=500`, { headers: { authorization: `SSWS ${fake.apiToken}` } });
    expect(((await res.json()) as unknown[]).length).toBe(200);
    const link = res.headers.get('link')!;
    const next = /<([^>]+)>; rel="next"/.exec(link)![1]!;
    expect(new URL(next).searchParams.get('after')).not.toMatch(/^00u/);
    expect(res.headers.get('x-rate-limit-remaining')).toMatch(/^\d+$/);
    const bad = await fetch(`${fake.url}/api/v1/users`, { headers: { authorization: 'SSWS nope' } });
    expect(bad.status).toBe(401);
    expect(Object.keys((await bad.json()) as object).sort()).toEqual(['errorCauses', 'errorCode', 'errorId', 'errorLink', 'errorSummary']);
  });

  it('refuses configs that cannot work, naming the field', async () => {
    await expect(okta.check({ orgUrl: fake.url }, testContext())).rejects.toThrow(/apiToken is required/);
    await expect(okta.check({ orgUrl: 'https://acme-admin.okta.com', apiToken: 'x' }, testContext())).rejects.toThrow(/admin console/);
    await expect(okta.check({ orgUrl: fake.url, authMethod: 'service_app', clientId: 'x' }, testContext())).rejects.toThrow(/privateKey is required/);
  });
});

describe('okta event hooks', () => {
  const cfg = { orgUrl: 'https://acme.okta.com', apiToken: 'x', webhookSecret: 'a-very-long-hook-secret-value', webhookAuthHeader: 'X-Hook-Auth' };
  const req = (p: Partial<WebhookRequest>): WebhookRequest => ({ method: 'POST', headers: {}, query: {}, rawBody: Buffer.alloc(0), body: undefined, ...p });
  const payload = (events: unknown[]) => ({ eventType: 'com.okta.event_hook', data: { events } });

  it('answers the one-time verification with the challenge', async () => {
    const out = await oktaWebhooks.handle(cfg as never, req({ method: 'GET', headers: { 'x-okta-verification-challenge': 'abc-123' } }));
    expect(out).toEqual({ kind: 'handshake', status: 200, contentType: 'application/json', body: '{"verification":"abc-123"}' });
    expect((await oktaWebhooks.handle(cfg as never, req({ method: 'GET' }))).kind).toBe('rejected');
  });

  it('rejects deliveries without the configured header secret', async () => {
    const body = payload([{ uuid: 'e1', eventType: 'user.lifecycle.activate', target: [{ id: '00u1', type: 'User' }] }]);
    expect(await oktaWebhooks.handle(cfg as never, req({ body }))).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await oktaWebhooks.handle(cfg as never, req({ body, headers: { 'x-hook-auth': 'a-very-long-hook-secret-valuX' } }))).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await oktaWebhooks.handle({ ...cfg, webhookSecret: undefined } as never, req({ body, headers: { 'x-hook-auth': cfg.webhookSecret } }))).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('no event hook secret') });
    expect(await oktaWebhooks.handle(cfg as never, req({ body, headers: { 'x-hook-auth': cfg.webhookSecret } }))).toMatchObject({ kind: 'events' });
  });

  it('turns lifecycle and membership events into targeted reads and deletes', async () => {
    const body = payload([
      { uuid: 'e1', eventType: 'user.lifecycle.deactivate', target: [{ id: '00u1', type: 'User' }] },
      { uuid: 'e2', eventType: 'user.account.update_profile', target: [{ id: '00u2', type: 'User' }] },
      { uuid: 'e3', eventType: 'group.user_membership.add', target: [{ id: '00u3', type: 'User' }, { id: '00g1', type: 'UserGroup' }] },
      { uuid: 'e4', eventType: 'group.user_membership.remove', target: [{ id: '00u4', type: 'User' }, { id: '00g1', type: 'UserGroup' }] },
      { uuid: 'e5', eventType: 'user.lifecycle.delete.initiated', target: [{ id: '00u5', type: 'User' }] },
      { uuid: 'e6', eventType: 'application.user_membership.add', target: [{ id: '00u6', type: 'User' }] },
      { eventType: 'user.lifecycle.create', target: [] },
    ]);
    const out = await oktaWebhooks.handle(cfg as never, req({ body, headers: { 'x-hook-auth': cfg.webhookSecret } }));
    expect(out).toEqual({
      kind: 'events',
      events: [
        { id: 'e1', type: 'user.lifecycle.deactivate', hints: [{ stream: 'users', keys: [{ id: '00u1' }] }] },
        { id: 'e2', type: 'user.account.update_profile', hints: [{ stream: 'users', keys: [{ id: '00u2' }] }] },
        { id: 'e3', type: 'group.user_membership.add', hints: [{ stream: 'memberships', keys: [{ id: '00g1:user:00u3' }] }] },
        { id: 'e4', type: 'group.user_membership.remove', hints: [], deletes: [{ stream: 'memberships', keys: [{ id: '00g1:user:00u4' }] }] },
        { id: 'e5', type: 'user.lifecycle.delete.initiated', hints: [{ stream: 'memberships', keys: [{ member_id: '00u5' }] }], deletes: [{ stream: 'users', keys: [{ id: '00u5' }] }] },
        { id: 'e6', type: 'application.user_membership.add', hints: [] },
      ],
    });
  });
});
