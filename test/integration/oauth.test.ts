import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait } from '../helpers/sync.ts';
import { startFakeOkta, type FakeOkta } from '../fakes/okta.ts';
import { OAuthService } from '../../src/oauth/oauth.service.ts';

const PUBLIC_URL = 'http://127.0.0.1:8999';
const REDIRECT = `${PUBLIC_URL}/pip/oauth/callback/okta`;
const WEB_SECRET = 'web-app-client-secret-0123456789abcdef';

describe.each(BACKENDS)('OAuth authorization of a connection on %s', (backend) => {
  let t: TestApp;
  let fake: FakeOkta;
  let connectionId: string;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers: Record<string, string> = {}) => t.app.inject({ method, url, headers: { ...t.auth(), ...headers }, payload: payload as object });

  /** admin → authorize → provider consent (the fake) → back to the callback */
  async function authorize(id: string): Promise<{ callbackUrl: string; authorizationUrl: URL }> {
    const r = await api('GET', `/pip/oauth/authorize/okta?connection_id=${id}`, undefined, { accept: 'application/json' });
    expect(r.statusCode, r.body).toBe(200);
    const authorizationUrl = new URL(r.json().authorization_url);
    const consent = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    return { callbackUrl: `${back.pathname}${back.search}`, authorizationUrl };
  }

  async function createConnection(name: string, config: Record<string, unknown>): Promise<string> {
    const c = await api('POST', '/pip/connections', { name, type: 'okta', config: { orgUrl: fake.url, authMethod: 'oauth_admin', ...config } });
    expect(c.statusCode, c.body).toBe(201);
    return c.json().id;
  }

  beforeAll(async () => {
    fake = await startFakeOkta();
    fake.seed({ users: 30, groups: 3 });
    fake.oauth.register({ clientId: '0oa-web', tokenEndpointAuth: 'client_secret_basic', clientSecret: WEB_SECRET, redirectUris: [REDIRECT], scopes: ['okta.users.read', 'okta.groups.read'] });
    t = await startTestApp(backend, { PIP_PUBLIC_URL: PUBLIC_URL }, { worker: true });
    connectionId = await createConnection('okta-oauth', { clientId: '0oa-web', clientSecret: WEB_SECRET });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.oauth.authorizeOutcome = 'approve';
  });

  it('authorize answers 302 to the provider (or JSON), with a state, PKCE S256, the scopes and offline_access', async () => {
    const redirect = await api('GET', `/pip/oauth/authorize/okta?connection_id=${connectionId}`);
    expect(redirect.statusCode).toBe(302);
    const url = new URL(redirect.headers.location as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.url}/oauth2/v1/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ response_type: 'code', client_id: '0oa-web', redirect_uri: REDIRECT, code_challenge_method: 'S256', scope: 'okta.users.read okta.groups.read offline_access' });
    expect(url.searchParams.get('state')!.length).toBeGreaterThanOrEqual(43);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // the state is stored hashed only
    const rows = await t.db.withSystem((trx) => trx('oauth_states').where({ connection_id: connectionId }));
    expect(rows.some((r: { state_hash: string }) => r.state_hash === url.searchParams.get('state'))).toBe(false);
    expect(JSON.stringify(rows)).not.toContain(url.searchParams.get('state'));

    const json = await api('GET', `/pip/oauth/authorize/okta?connection_id=${connectionId}`, undefined, { accept: 'application/json' });
    expect(json.json()).toMatchObject({ authorization_url: expect.stringContaining('/oauth2/v1/authorize?'), expires_at: expect.any(String) });
    // the provider in the path must be the connection's type
    const mismatch = await api('GET', `/pip/oauth/authorize/auth0?connection_id=${connectionId}`);
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.code).toBe('PIP_OAUTH_PROVIDER_MISMATCH');
  });

  it('the callback exchanges the code (PKCE, client secret) and seals the tokens: nowhere in clear in the database, never in the answer', async () => {
    const { callbackUrl } = await authorize(connectionId);
    const cb = await t.app.inject({ method: 'GET', url: callbackUrl });
    expect(cb.statusCode, cb.body).toBe(200);
    expect(cb.json()).toMatchObject({ connection_id: connectionId, provider: 'okta', status: 'authorized', scopes: ['okta.users.read', 'okta.groups.read'], refresh_token: true, expires_at: expect.any(String) });
    const exchange = fake.oauth.tokenCalls.at(-1)!;
    expect(exchange).toMatchObject({ grantType: 'authorization_code', clientId: '0oa-web', status: 200 });

    const accessTokens = [...fake.oauth.accessTokens.keys()];
    const refreshTokens = [...fake.oauth.refreshTokens.keys()];
    expect(accessTokens.length).toBeGreaterThan(0);
    for (const secret of [...accessTokens, ...refreshTokens]) expect(cb.body).not.toContain(secret);
    // every row of every table, as text
    const tables = await t.db.knex.raw(`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'knex\_%'`);
    const dump: string[] = [];
    await t.db.withSystem(async (trx) => {
      for (const { table_name } of tables.rows as Array<{ table_name: string }>) {
        const rows = await trx.raw(`select t::text as row from ?? t`, [table_name]);
        for (const r of rows.rows) dump.push(r.row);
      }
    });
    const all = dump.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of [...accessTokens, ...refreshTokens, WEB_SECRET]) expect(all).not.toContain(secret);
    const sealed = await t.db.withSystem((trx) => trx('secrets').where({ owner_type: 'connection_oauth', owner_id: connectionId }).orderBy('name'));
    expect(sealed.map((s: { name: string }) => s.name)).toEqual(['access_token', 'refresh_token']);
    const audit = await t.db.withSystem((trx) => trx('audit_events').where({ connection_id: connectionId, action: 'oauth.authorize' }));
    expect(audit.at(-1)).toMatchObject({ outcome: 'success', actor: expect.stringMatching(/^api_key:/) });
  });

  it('a state works once; an expired one is refused', async () => {
    const { callbackUrl } = await authorize(connectionId);
    expect((await t.app.inject({ method: 'GET', url: callbackUrl })).statusCode).toBe(200);
    const again = await t.app.inject({ method: 'GET', url: callbackUrl });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe('PIP_OAUTH_STATE_USED');

    const late = await authorize(connectionId);
    await t.db.withSystem((trx) => trx('oauth_states').where({ connection_id: connectionId }).whereNull('used_at').update({ expires_at: trx.raw(`now() - interval '1 second'`) }));
    const expired = await t.app.inject({ method: 'GET', url: late.callbackUrl });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().error.code).toBe('PIP_OAUTH_STATE_EXPIRED');

    const forged = await t.app.inject({ method: 'GET', url: '/pip/oauth/callback/okta?code=x&state=made-up-state' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.code).toBe('PIP_OAUTH_STATE_INVALID');
  });

  it("surfaces the provider's error and description to the admin as a 400", async () => {
    fake.oauth.authorizeOutcome = { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' };
    const { callbackUrl } = await authorize(connectionId);
    const cb = await t.app.inject({ method: 'GET', url: callbackUrl });
    expect(cb.statusCode).toBe(400);
    expect(cb.json().error).toMatchObject({ code: 'PIP_OAUTH_PROVIDER_ERROR', message: 'okta refused the authorization: access_denied (The resource owner or authorization server denied the request.)', details: { provider_error: 'access_denied' } });
    const audit = await t.db.withSystem((trx) => trx('audit_events').where({ connection_id: connectionId, action: 'oauth.authorize', outcome: 'failure' }));
    expect(audit.at(-1).details).toMatchObject({ provider_error: 'access_denied' });

    // a bad code at the token endpoint is the provider's error too
    fake.oauth.authorizeOutcome = 'approve';
    const next = await authorize(connectionId);
    const tampered = next.callbackUrl.replace(/code=[^&]+/, 'code=not-a-code');
    const bad = await t.app.inject({ method: 'GET', url: tampered });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'PIP_OAUTH_EXCHANGE_FAILED', message: expect.stringContaining('invalid_grant') });
    expect(bad.body).not.toContain(WEB_SECRET);
  });

  it('form_post callbacks work too', async () => {
    const { callbackUrl } = await authorize(connectionId);
    const query = new URL(callbackUrl, PUBLIC_URL).searchParams;
    const cb = await t.app.inject({ method: 'POST', url: '/pip/oauth/callback/okta', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: query.toString() });
    expect(cb.statusCode, cb.body).toBe(200);
    expect(cb.json().status).toBe('authorized');
  });

  it('syncs with the tokens, refreshes them before they expire, and once after a 401', async () => {
    await authorize(connectionId).then(({ callbackUrl }) => t.app.inject({ method: 'GET', url: callbackUrl }));
    expect((await api('POST', `/pip/connections/${connectionId}/discover`)).statusCode).toBe(200);
    const m = await api('PUT', `/pip/connections/${connectionId}/streams`, { streams: [{ name: 'users' }, { name: 'groups' }, { name: 'memberships' }] });
    expect(m.statusCode, m.body).toBe(200);

    fake.resetCalls();
    const first = await syncAndWait(t, connectionId);
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    expect(first.counters.read).toBeGreaterThan(30);
    expect(fake.calls.every((c) => c.auth === 'bearer' && c.status === 200)).toBe(true);
    expect(fake.oauth.tokenCalls).toHaveLength(0);

    // the access token expires in 30 s: refreshed before the first API call, no 401 seen
    await t.db.withSystem((trx) => trx('oauth_tokens').where({ connection_id: connectionId }).update({ expires_at: trx.raw(`now() + interval '30 seconds'`) }));
    fake.resetCalls();
    const second = await syncAndWait(t, connectionId);
    expect(second.status).toBe('succeeded');
    expect(fake.oauth.tokenCalls.map((c) => c.grantType)).toEqual(['refresh_token']);
    expect(fake.oauth.tokenCalls[0]!.at).toBeLessThanOrEqual(fake.calls[0]!.at);
    expect(fake.calls.some((c) => c.status === 401)).toBe(false);
    const row = await t.db.withSystem((trx) => trx('oauth_tokens').where({ connection_id: connectionId }).first());
    expect(new Date(row.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);

    // the provider revokes the token: one 401, one refresh, and the sync carries on
    fake.revokeAccessTokens();
    fake.resetCalls();
    const third = await syncAndWait(t, connectionId);
    expect(third.status, JSON.stringify(third.error)).toBe('succeeded');
    expect(fake.oauth.tokenCalls.map((c) => c.grantType)).toEqual(['refresh_token']);
    expect(fake.calls.filter((c) => c.status === 401)).toHaveLength(1);
    const refreshes = await t.db.withSystem((trx) => trx('audit_events').where({ connection_id: connectionId, action: 'oauth.refresh', outcome: 'success' }).orderBy('id'));
    expect(refreshes.map((r: { details: { reason: string } }) => r.details.reason).slice(-2)).toEqual(['expiring', 'rejected']);

    // still 401 after the refresh: the sync fails as an auth error after one refresh, not a loop
    fake.oauth.accessTokenTtlSeconds = 3600;
    const realIssue = fake.oauth.issueAccessToken.bind(fake.oauth);
    fake.oauth.issueAccessToken = (clientId, scopes) => {
      const tok = realIssue(clientId, scopes);
      fake.oauth.accessTokens.get(tok)!.revoked = true;
      return tok;
    };
    fake.revokeAccessTokens();
    fake.resetCalls();
    const fourth = await syncAndWait(t, connectionId);
    fake.oauth.issueAccessToken = realIssue;
    expect(fourth).toMatchObject({ status: 'failed', error: { kind: 'auth' } });
    expect(fake.oauth.tokenCalls.filter((c) => c.grantType === 'refresh_token')).toHaveLength(1);
    for (const tok of fake.oauth.accessTokens.keys()) expect(JSON.stringify(fourth)).not.toContain(tok);
  });

  it('two processes refreshing at once: one refresh at the provider, both get the new token (rotating refresh tokens)', async () => {
    await authorize(connectionId).then(({ callbackUrl }) => t.app.inject({ method: 'GET', url: callbackUrl }));
    fake.oauth.rotateRefreshTokens = true;
    try {
      // a second process: its own OAuth service over the same database
      const other = new OAuthService(t.db, t.keyring, t.services.connections, t.services.secrets, t.services.audit, t.services.runtime, { publicUrl: PUBLIC_URL });
      const loaded = await t.services.connections.load('default', connectionId, { actor: 'test', purpose: 'test' });
      const mine = loaded.oauthTokens!;
      const theirs = (await t.db.withTenant('default', (trx) => other.resolveTokens({ trx, tenantId: 'default', row: loaded.row, connector: loaded.connector, config: loaded.config })))!;
      await t.db.withSystem((trx) => trx('oauth_tokens').where({ connection_id: connectionId }).update({ expires_at: trx.raw(`now() + interval '10 seconds'`) }));
      fake.resetCalls();
      const [a, b] = await Promise.all([mine.get(), theirs.get()]);
      expect(a).toBe(b);
      expect(fake.oauth.tokenCalls).toEqual([expect.objectContaining({ grantType: 'refresh_token', status: 200 })]);
      expect(fake.oauth.accessTokens.get(a)).toMatchObject({ revoked: false });
    } finally {
      fake.oauth.rotateRefreshTokens = false;
    }
  });

  it('POST /pip/oauth/refresh refreshes now; a dead refresh token is a clear 409 without the token', async () => {
    await authorize(connectionId).then(({ callbackUrl }) => t.app.inject({ method: 'GET', url: callbackUrl }));
    fake.resetCalls();
    const r = await api('POST', `/pip/oauth/refresh/${connectionId}`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ connection_id: connectionId, status: 'authorized', refreshed_at: expect.any(String) });
    expect(fake.oauth.tokenCalls.map((c) => c.grantType)).toEqual(['refresh_token']);

    for (const rt of fake.oauth.refreshTokens.values()) rt.revoked = true;
    const dead = await api('POST', `/pip/oauth/refresh/${connectionId}`);
    expect(dead.statusCode).toBe(409);
    expect(dead.json().error).toMatchObject({ code: 'PIP_OAUTH_REFRESH_FAILED', message: expect.stringContaining('invalid_grant') });
    for (const rt of fake.oauth.refreshTokens.keys()) expect(dead.body).not.toContain(rt);
    const status = await t.db.withSystem((trx) => trx('oauth_tokens').where({ connection_id: connectionId }).first());
    expect(status.last_error).toMatchObject({ code: 'invalid_grant' });
  });

  it('private_key_jwt client authentication at the token endpoint; tokens leave with the connection', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    fake.oauth.register({ clientId: '0oa-web-jwt', tokenEndpointAuth: 'private_key_jwt', publicJwk: { ...(await exportJWK(publicKey)), alg: 'ES256' }, redirectUris: [REDIRECT], scopes: ['okta.users.read', 'okta.groups.read'] });
    const id = await createConnection('okta-oauth-jwt', { clientId: '0oa-web-jwt', privateKey: await exportPKCS8(privateKey) });
    const { callbackUrl } = await authorize(id);
    const cb = await t.app.inject({ method: 'GET', url: callbackUrl });
    expect(cb.statusCode, cb.body).toBe(200);
    expect(fake.oauth.tokenCalls.at(-1)).toMatchObject({ grantType: 'authorization_code', clientId: '0oa-web-jwt', status: 200 });
    const test = await api('POST', `/pip/connections/${id}/test`);
    expect(test.json()).toMatchObject({ ok: true, details: { canReadUsers: true, canReadGroups: true } });

    const del = await t.app.inject({ method: 'DELETE', url: `/pip/connections/${id}`, headers: t.auth() });
    expect(del.statusCode).toBe(204);
    expect(await t.db.withSystem((trx) => trx('secrets').where({ owner_type: 'connection_oauth', owner_id: id }))).toHaveLength(0);
  });

  it('an OAuth connection that was never authorized fails its test with what to do', async () => {
    const id = await createConnection('okta-not-yet', { clientId: '0oa-web', clientSecret: WEB_SECRET });
    const test = await api('POST', `/pip/connections/${id}/test`);
    expect(test.json()).toMatchObject({ ok: false, error: { kind: 'auth', message: expect.stringContaining('/pip/oauth/authorize/okta') } });
    const refresh = await api('POST', `/pip/oauth/refresh/${id}`);
    expect(refresh.statusCode).toBe(409);
    expect(refresh.json().error.code).toBe('PIP_OAUTH_NOT_AUTHORIZED');
  });
});
