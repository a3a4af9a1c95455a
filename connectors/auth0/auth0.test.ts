import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { auth0User, startAuth0Fake, type Auth0Fake } from '../../test/fakes/auth0.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadMessage, WebhookRequest } from '../sdk/types.ts';
import auth0 from './index.ts';
import type { Auth0Config } from './spec.ts';

const stream = (name: string, fields: string[] = []): ConfiguredStream => ({ name, fields, primaryKey: ['id'], syncMode: 'full' });
const catalog = (...names: string[]): ConfiguredCatalog => ({ streams: names.map((n) => stream(n)) });
const deletesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'delete' && m.stream === s ? [m.key] : []));
const scopesOf = (messages: ReadMessage[], s: string) => messages.flatMap((m) => (m.type === 'scope_complete' && m.stream === s ? [m.scope] : []));
const AUTHORIZATION = 'Bearer log-stream-token-0123456789';

describe('auth0 connector against the Auth0 fake', () => {
  let fake: Auth0Fake;
  let config: Auth0Config;

  beforeAll(async () => {
    fake = await startAuth0Fake({ exportPolls: 2 });
    config = { domain: fake.domain, clientId: fake.clientId, clientSecret: fake.clientSecret, usersStrategy: 'auto', exportTimeoutMinutes: 5, exportPollIntervalMs: 100, logStreamAuthorization: AUTHORIZATION, managementBaseUrl: fake.origin };
  });
  afterAll(async () => fake?.close());
  afterEach(() => fake.http.clearFaults());

  function seed(n: number) {
    fake.users.clear();
    fake.seedUsers(Array.from({ length: n }, (_, i) => auth0User(i + 1)));
  }

  it('reads 10,000 users past the 1,000-result paging cap through the export job, under throttling, none lost or duplicated', async () => {
    seed(10_000);
    fake.http.inject({ match: (r) => r.path.startsWith('/api/v2/'), every: 3, reply: { status: 429, headers: { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1) }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' } } });
    const messages = await collect(auth0.read(config, { streams: [stream('users', ['id', 'email', 'attributes', 'app_metadata'])] }, testReadContext()));
    const users = recordsOf(messages, 'users');
    expect(users).toHaveLength(10_000);
    expect(new Set(users.map((u) => u.id)).size).toBe(10_000);
    expect(users[41]).toMatchObject({ id: auth0User(42).user_id, email: 'User00042@Example.com', status: 'active', app_metadata: { plan: 'pro' }, attributes: { app_metadata: { plan: 'pro' } } });
    expect(messages.some((m) => m.type === 'log' && /through a users export job/.test(m.message))).toBe(true);
    expect(messages.filter((m) => m.type === 'rate_limited').length).toBeGreaterThan(0);
    expect(fake.http.callsTo(/^\/api\/v2\/users$/).every((c) => c.query.per_page === '1')).toBe(true);
    const download = fake.http.callsTo(/^\/exports\//);
    expect(download).toHaveLength(1);
    expect(download[0]).toMatchObject({ status: 200, auth: undefined });
  });

  it('reads a smaller tenant page by page, spending the x-ratelimit budget instead of hitting 429', async () => {
    const limited = await startAuth0Fake({ domain: 'budget.eu.auth0.com', rateLimit: { limit: 4, windowSeconds: 1 } });
    try {
      limited.seedUsers(Array.from({ length: 450 }, (_, i) => auth0User(i + 1)));
      const cfg = { ...config, domain: limited.domain, clientId: limited.clientId, clientSecret: limited.clientSecret, managementBaseUrl: limited.origin };
      const messages = await collect(auth0.read(cfg, catalog('users'), testReadContext()));
      expect(recordsOf(messages, 'users')).toHaveLength(450);
      expect(limited.http.callsTo(/^\/api\/v2\/users$/).map((c) => c.query.page)).toEqual(['0', '0', '1', '2', '3', '4']);
      expect(limited.http.calls.filter((c) => c.status === 429)).toHaveLength(0);
      expect(messages.some((m) => m.type === 'rate_limited' && /budget/.test(m.reason))).toBe(true);
    } finally {
      await limited.close();
    }
  });

  it('falls back to the export job when paging runs into the 1,000-result cap', async () => {
    seed(1_150);
    const messages = await collect(auth0.read({ ...config, usersStrategy: 'paged' }, catalog('users'), testReadContext()));
    expect(messages.some((m) => m.type === 'log' && m.level === 'warn' && /1,000/.test(m.message))).toBe(true);
    expect(new Set(recordsOf(messages, 'users').map((u) => u.id)).size).toBe(1_150);
  });

  it('reads roles with their members (checkpoints) and organizations with theirs', async () => {
    seed(260);
    fake.roles.clear();
    fake.organizations.clear();
    fake.addRole({ id: 'rol_admin', name: 'admin', description: 'Administrators' }, Array.from({ length: 230 }, (_, i) => auth0User(i + 1).user_id));
    fake.addRole({ id: 'rol_empty', name: 'empty' });
    fake.addOrganization({ id: 'org_acme', name: 'acme', display_name: 'Acme Inc.', metadata: { tier: 'gold' } }, [auth0User(1).user_id, auth0User(2).user_id]);
    const messages = await collect(auth0.read(config, catalog('roles', 'role_assignments', 'groups', 'memberships'), testReadContext()));
    expect(recordsOf(messages, 'roles')).toEqual([{ id: 'rol_admin', name: 'admin', description: 'Administrators' }, { id: 'rol_empty', name: 'empty' }]);
    const assignments = recordsOf(messages, 'role_assignments');
    expect(assignments).toHaveLength(230);
    expect(new Set(assignments.map((a) => a.id)).size).toBe(230);
    expect(assignments[0]).toEqual({ id: `rol_admin:user:${auth0User(1).user_id}`, role_id: 'rol_admin', principal_id: auth0User(1).user_id, principal_type: 'user' });
    expect(fake.http.callsTo(/\/roles\/rol_admin\/users$/).map((c) => c.query.from ?? null)).toHaveLength(3);
    expect(recordsOf(messages, 'groups')).toEqual([{ id: 'org_acme', name: 'Acme Inc.', kind: 'organization', org_name: 'acme', metadata: { tier: 'gold' }, attributes: { org_name: 'acme', metadata: { tier: 'gold' } } }]);
    expect(recordsOf(messages, 'memberships').map((m) => m.member_id)).toEqual([auth0User(1).user_id, auth0User(2).user_id]);
    for (const s of ['roles', 'role_assignments', 'groups', 'memberships']) expect(messages).toContainEqual({ type: 'stream_status', stream: s, status: 'complete' });
  });

  it('targeted reads: a user (gone → deleted), a user\'s roles and organizations, a role\'s members, each closed by scope_complete', async () => {
    seed(5);
    fake.roles.clear();
    fake.organizations.clear();
    fake.addRole({ id: 'rol_a', name: 'a' }, [auth0User(1).user_id, auth0User(2).user_id]);
    fake.addOrganization({ id: 'org_x', name: 'x' }, [auth0User(1).user_id]);
    const messages = await collect(
      auth0.read(config, catalog('users', 'role_assignments', 'memberships'), testReadContext({
        hints: [
          { stream: 'users', keys: [{ id: auth0User(1).user_id }, { id: 'auth0|gone' }] },
          { stream: 'role_assignments', keys: [{ principal_id: auth0User(1).user_id }, { principal_id: 'auth0|gone' }, { role_id: 'rol_a' }] },
          { stream: 'memberships', keys: [{ member_id: auth0User(1).user_id }] },
        ],
      })),
    );
    expect(recordsOf(messages, 'users').map((u) => u.id)).toEqual([auth0User(1).user_id]);
    expect(deletesOf(messages, 'users')).toEqual([{ id: 'auth0|gone' }]);
    expect(scopesOf(messages, 'role_assignments')).toEqual([{ principal_id: auth0User(1).user_id, principal_type: 'user' }, { principal_id: 'auth0|gone', principal_type: 'user' }, { role_id: 'rol_a' }]);
    expect(recordsOf(messages, 'role_assignments').map((r) => r.principal_id)).toEqual([auth0User(1).user_id, auth0User(1).user_id, auth0User(2).user_id]);
    expect(scopesOf(messages, 'memberships')).toEqual([{ member_id: auth0User(1).user_id, member_type: 'user' }]);
    expect(recordsOf(messages, 'memberships').map((m) => m.group_id)).toEqual(['org_x']);
  });

  it('check proves the credentials and reports missing optional scopes; a wrong secret fails', async () => {
    seed(3);
    fake.scopes = ['read:users'];
    try {
      expect(await auth0.check(config, testContext())).toMatchObject({ users: 3, usersRead: 'paged', roles: 'missing read:roles', organizations: 'missing read:organizations' });
    } finally {
      fake.scopes = ['read:users', 'read:roles', 'read:role_members', 'read:organizations', 'read:organization_members'];
    }
    await expect(auth0.check({ ...config, clientSecret: 'nope' }, testContext())).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('access_denied') });
    await expect(auth0.check({ ...config, domain: 'other.eu.auth0.com' }, testContext())).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('Service not enabled') });
  });

  it('discovers the normalized streams with profile attributes', async () => {
    const cat = await auth0.discover(config, testContext());
    expect(cat.streams.map((s) => s.name)).toEqual(['users', 'roles', 'role_assignments', 'groups', 'memberships']);
    const users = cat.streams[0]!;
    expect(users.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['email', 'app_metadata', 'user_metadata', 'email_verified']));
    expect(users.supportedSyncModes).toEqual(['full']);
  });
});

describe('auth0 log stream deliveries', () => {
  const config = { logStreamAuthorization: AUTHORIZATION } as Auth0Config;
  const delivery = (body: string, authorization: string | null = AUTHORIZATION, contentType = 'application/json'): WebhookRequest => ({
    method: 'POST',
    headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) },
    query: {},
    rawBody: Buffer.from(body),
    body: (() => {
      try {
        return JSON.parse(body);
      } catch {
        return undefined;
      }
    })(),
  });
  const log = (log_id: string, data: Record<string, unknown>) => ({ log_id, data: { log_id, date: '2026-01-01T00:00:00Z', ...data } });
  const sapi = (method: string, path: string, extra: Record<string, unknown> = {}) => ({ type: 'sapi', details: { request: { method, path }, response: { statusCode: 200, body: {} }, ...extra } });

  it('refuses a delivery without the configured Authorization value, or with another one', async () => {
    const body = JSON.stringify([log('1', { type: 'ss', user_id: 'auth0|1' })]);
    expect(await auth0.webhooks!.handle(config, delivery(body, null))).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await auth0.webhooks!.handle(config, delivery(body, 'Bearer log-stream-token-0123456780'))).toMatchObject({ kind: 'rejected', status: 401 });
    expect(await auth0.webhooks!.handle({} as Auth0Config, delivery(body))).toMatchObject({ kind: 'rejected', status: 403 });
  });

  it('maps signups, updates and deletions to targeted reads and deletes, and ignores logins', async () => {
    const body = JSON.stringify([
      log('a', { type: 's', user_id: 'auth0|1' }),
      log('b', { type: 'ss', user_id: 'auth0|2' }),
      log('c', sapi('patch', '/api/v2/users/auth0%7C3')),
      log('d', { type: 'sdu', user_id: 'auth0|4' }),
      log('e', sapi('delete', '/api/v2/users/auth0%7C5')),
      log('f', sapi('post', '/api/v2/roles/rol_1/users')),
      log('g', sapi('post', '/api/v2/organizations/org_1/members')),
      log('h', sapi('post', '/api/v2/users', { response: { statusCode: 201, body: { user_id: 'auth0|6' } } })),
      log('i', sapi('get', '/api/v2/users')),
    ]);
    const out = await auth0.webhooks!.handle(config, delivery(body));
    expect(out.kind).toBe('events');
    const events = out.kind === 'events' ? out.events : [];
    expect(events.map((e) => e.id)).toEqual(['b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(events[0]).toMatchObject({ type: 'ss', hints: [{ stream: 'users', keys: [{ id: 'auth0|2' }] }] });
    expect(events[1]!.hints).toEqual([{ stream: 'users', keys: [{ id: 'auth0|3' }] }]);
    expect(events[2]).toMatchObject({ deletes: [{ stream: 'users', keys: [{ id: 'auth0|4' }] }], hints: [{ stream: 'role_assignments', keys: [{ principal_id: 'auth0|4' }] }, { stream: 'memberships', keys: [{ member_id: 'auth0|4' }] }] });
    expect(events[3]).toMatchObject({ deletes: [{ stream: 'users', keys: [{ id: 'auth0|5' }] }] });
    expect(events[4]!.hints).toEqual([{ stream: 'role_assignments', keys: [{ role_id: 'rol_1' }] }]);
    expect(events[5]!.hints).toEqual([{ stream: 'memberships', keys: [{ group_id: 'org_1' }] }]);
    expect(events[6]!.hints).toEqual([{ stream: 'users', keys: [{ id: 'auth0|6' }] }]);
  });

  it('accepts JSON Lines and single-object content formats', async () => {
    const lines = [log('x', { type: 'ss', user_id: 'auth0|7' }), log('y', { type: 'sdu', user_id: 'auth0|8' })].map((l) => JSON.stringify(l)).join('\n');
    const out = await auth0.webhooks!.handle(config, delivery(lines, AUTHORIZATION, 'application/x-ndjson'));
    expect(out.kind === 'events' && out.events.map((e) => e.id)).toEqual(['x', 'y']);
    const single = await auth0.webhooks!.handle(config, delivery(JSON.stringify(log('z', { type: 'ss', user_id: 'auth0|9' }))));
    expect(single.kind === 'events' && single.events.map((e) => e.id)).toEqual(['z']);
  });
});
