/**
 * Auth strategies against a real HTTP server that plays both the API and the token endpoint:
 * what each strategy sends, 401 → refresh → one retry, client-credentials caching and refresh
 * before expiry, a private_key_jwt assertion verified with jose on the server side, token
 * endpoint errors, and that no credential ever appears in an error message.
 */
import { generateKeyPairSync } from 'node:crypto';
import { jwtVerify, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startHttpServer, type RecordedRequest, type TestHttpServer } from '../../../test/fakes/http-server.ts';
import { apiKeyAuth, basicAuth, bearerAuth, oauth2ClientCredentials, tokenProviderAuth } from './auth.ts';
import { RateLimitBudgets, RateLimitPolicy } from './rate-limit.ts';
import { Requester, type RequesterOptions } from './requester.ts';

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer((_req, res) => sendJson(res, 200, {}));
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
});

const http = (over: Partial<RequesterOptions>) => new Requester({ source: 'test', baseUrl: server.url, rateLimit: new RateLimitPolicy({ budgets: new RateLimitBudgets() }), ...over });
const apiCalls = () => server.requests.filter((r) => r.url.pathname !== '/oauth2/token');
const tokenCalls = () => server.requests.filter((r) => r.url.pathname === '/oauth2/token');
const form = (r: RecordedRequest) => new URLSearchParams(r.body);

describe('static credentials', () => {
  it('API key in a header (with a prefix) or in the query', async () => {
    await http({ auth: apiKeyAuth({ in: 'header', name: 'Authorization', value: 'okta-token-1', prefix: 'SSWS ' }) }).request({ url: '/api/v1/users' });
    expect(server.requests[0]!.headers.authorization).toBe('SSWS okta-token-1');
    await http({ auth: apiKeyAuth({ in: 'query', name: 'api_key', value: 'k-123' }) }).request({ url: '/items', query: { a: 1 } });
    expect(server.requests[1]!.url.searchParams.get('api_key')).toBe('k-123');
    expect(server.requests[1]!.url.searchParams.get('a')).toBe('1');
  });

  it('basic and bearer', async () => {
    await http({ auth: basicAuth('svc', 'p@ss:word') }).request({ url: '/x' });
    expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('svc:p@ss:word').toString('base64')}`);
    await http({ auth: bearerAuth('tok-abc') }).request({ url: '/x' });
    expect(server.requests[1]!.headers.authorization).toBe('Bearer tok-abc');
  });

  it('never puts a credential in an error message, even when the provider echoes it', async () => {
    server.handler = (req, res) => sendJson(res, 403, { message: `token ${req.headers.authorization} may not read ${req.url.search}`, errorCode: 'insufficient_scope' });
    const secret = 'sk-live-0123456789';
    const e1 = await http({ auth: bearerAuth(secret) }).request({ url: '/x' }).then(() => new Error('expected a failure'), (e: Error) => e);
    const e2 = await http({ auth: apiKeyAuth({ in: 'query', name: 'key', value: secret }) }).request({ url: '/x' }).then(() => new Error('expected a failure'), (e: Error) => e);
    const e3 = await http({ auth: basicAuth('svc', secret) }).request({ url: '/x' }).then(() => new Error('expected a failure'), (e: Error) => e);
    for (const e of [e1, e2, e3]) {
      expect(e).toMatchObject({ kind: 'permission' });
      expect(e.message).toContain('GET /x answered 403 insufficient_scope');
      expect(e.message).not.toContain(secret);
      expect(JSON.stringify(e)).not.toContain(secret);
    }
    expect(e3.message).not.toContain(Buffer.from(`svc:${secret}`).toString('base64'));
  });
});

describe('401 → refresh → retry once', () => {
  it('refreshes a stored token once and retries the request once', async () => {
    let current = 'expired';
    let refreshes = 0;
    server.handler = (req, res) => (req.headers.authorization === 'Bearer fresh' ? sendJson(res, 200, { ok: true }) : sendJson(res, 401, { errorCode: 'E0000011', errorSummary: 'Invalid token provided' }));
    const requester = http({
      auth: tokenProviderAuth(
        async () => current,
        async () => {
          refreshes += 1;
          current = 'fresh';
        },
      ),
    });
    const res = await requester.request<{ ok: boolean }>({ url: '/api/v1/users' });
    expect(res.body.ok).toBe(true);
    expect(refreshes).toBe(1);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer expired', 'Bearer fresh']);
  });

  it('fails with kind auth naming the provider code when the refreshed token is rejected too', async () => {
    let refreshes = 0;
    server.handler = (_req, res) => sendJson(res, 401, { errorCode: 'E0000011', errorSummary: 'Invalid token provided' });
    const requester = http({
      auth: tokenProviderAuth(
        async () => 'still-bad-token',
        async () => {
          refreshes += 1;
        },
      ),
    });
    const err = await requester.request({ url: '/api/v1/users' }).then(() => new Error('expected a failure'), (e: Error) => e);
    expect(err).toMatchObject({ kind: 'auth', message: 'test: GET /api/v1/users answered 401 E0000011: Invalid token provided (also after refreshing the credentials)' });
    expect(refreshes).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('a static token is not retried', async () => {
    server.handler = (_req, res) => sendJson(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' } });
    await expect(http({ auth: bearerAuth('x-token') }).request({ url: '/v1.0/users' })).rejects.toMatchObject({
      kind: 'auth',
      message: 'test: GET /v1.0/users answered 401 InvalidAuthenticationToken: Access token has expired or is not yet valid.',
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('OAuth2 client credentials', () => {
  let issued = 0;
  let lifetime = 3600;
  const valid = new Set<string>();
  beforeAll(() => undefined);

  function tokenServer(check: (r: RecordedRequest) => Promise<string | undefined> | string | undefined = () => undefined): void {
    server.handler = async (req, res) => {
      if (req.url.pathname === '/oauth2/token') {
        const problem = await check(req);
        if (problem) return sendJson(res, 401, { error: 'invalid_client', error_description: problem });
        const token = `at-${++issued}`;
        valid.add(token);
        return sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: form(req).get('scope') });
      }
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      return valid.has(token) ? sendJson(res, 200, { token }) : sendJson(res, 401, { errorCode: 'E0000011', errorSummary: 'Invalid token provided' });
    };
  }

  it('caches the token across requests and sends scope, audience and the client secret in the form', async () => {
    lifetime = 3600;
    tokenServer((r) => (form(r).get('client_secret') === 's3cret' && form(r).get('client_id') === 'app-1' ? undefined : 'bad client'));
    const auth = oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'app-1', clientSecret: 's3cret', scope: ['okta.users.read', 'okta.groups.read'], audience: 'https://api.example' });
    const requester = http({ auth });
    const results = await Promise.all(Array.from({ length: 5 }, () => requester.request<{ token: string }>({ url: '/api/v1/users' })));
    for (let i = 0; i < 3; i++) await requester.request({ url: '/api/v1/groups' });
    expect(tokenCalls()).toHaveLength(1);
    expect(auth.tokenRequests).toBe(1);
    expect(new Set(results.map((r) => r.body.token)).size).toBe(1);
    const sent = form(tokenCalls()[0]!);
    expect(sent.get('grant_type')).toBe('client_credentials');
    expect(sent.get('scope')).toBe('okta.users.read okta.groups.read');
    expect(sent.get('audience')).toBe('https://api.example');
    expect(tokenCalls()[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('client_secret_basic sends the client in the Authorization header', async () => {
    tokenServer((r) => (r.headers.authorization === `Basic ${Buffer.from('app%3A2:s+cret').toString('base64')}` && !form(r).has('client_secret') ? undefined : 'bad basic'));
    await http({ auth: oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'app:2', clientSecret: 's cret', clientSecretMethod: 'client_secret_basic' }) }).request({ url: '/x' });
    expect(apiCalls()).toHaveLength(1);
  });

  it('refreshes the token shortly before it expires', async () => {
    lifetime = 1;
    tokenServer();
    const auth = oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'app', clientSecret: 's', refreshSkewMs: 300 });
    const requester = http({ auth });
    const first = await requester.request<{ token: string }>({ url: '/x' });
    const again = await requester.request<{ token: string }>({ url: '/x' });
    expect(again.body.token).toBe(first.body.token);
    await new Promise((r) => setTimeout(r, 750));
    const later = await requester.request<{ token: string }>({ url: '/x' });
    expect(later.body.token).not.toBe(first.body.token);
    expect(auth.tokenRequests).toBe(2);
    // never a 401 on the way: the token was replaced before the API could reject it
    expect(apiCalls().every((r) => valid.has(r.headers.authorization!.slice(7)))).toBe(true);
  });

  it('fetches a new token once when the API rejects the cached one (revoked)', async () => {
    lifetime = 3600;
    tokenServer();
    const auth = oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'app', clientSecret: 's' });
    const requester = http({ auth });
    const first = await requester.request<{ token: string }>({ url: '/x' });
    valid.delete(first.body.token);
    const second = await requester.request<{ token: string }>({ url: '/x' });
    expect(second.body.token).not.toBe(first.body.token);
    expect(auth.tokenRequests).toBe(2);
    expect(requester.stats.refreshed).toBe(1);
  });

  it('private_key_jwt: a client assertion the server verifies with the public key (RFC 7523 claims)', async () => {
    lifetime = 3600;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tokenUrl = `${server.url}/oauth2/token`;
    const seenJti = new Set<string>();
    tokenServer(async (r) => {
      const f = form(r);
      if (f.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return 'wrong assertion type';
      if (f.has('client_secret')) return 'a secret was sent';
      const assertion = f.get('client_assertion')!;
      const { payload, protectedHeader } = await jwtVerify(assertion, publicKey, { issuer: 'okta-app', subject: 'okta-app', audience: tokenUrl, algorithms: ['RS256'] });
      if (protectedHeader.kid !== 'key-1') return 'wrong kid';
      if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return 'jti replayed';
      seenJti.add(payload.jti);
      if (payload.exp! - payload.iat! > 300) return 'lifetime above 5 minutes';
      return undefined;
    });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const auth = oauth2ClientCredentials({ tokenUrl, clientId: 'okta-app', privateKeyJwt: { privateKeyPem: pem, keyId: 'key-1' }, scope: 'okta.users.read' });
    const requester = http({ auth });
    const first = await requester.request<{ token: string }>({ url: '/api/v1/users' });
    // the token is revoked: the next call gets a 401, and a new assertion (new jti) gets a new token
    valid.delete(first.body.token);
    await requester.request({ url: '/api/v1/users' });
    expect(seenJti.size).toBe(2);
    expect(apiCalls()).toHaveLength(3);
    expect(decodeProtectedHeader(form(tokenCalls()[0]!).get('client_assertion')!)).toMatchObject({ alg: 'RS256', kid: 'key-1', typ: 'JWT' });
  });

  it('private_key_jwt with an EC key in JWK form signs ES256', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tokenUrl = `${server.url}/oauth2/token`;
    tokenServer(async (r) => {
      await jwtVerify(form(r).get('client_assertion')!, publicKey, { audience: tokenUrl, algorithms: ['ES256'] });
      return undefined;
    });
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    await http({ auth: oauth2ClientCredentials({ tokenUrl, clientId: 'c', privateKeyJwt: { privateKeyPem: jwk } }) }).request({ url: '/x' });
    expect(apiCalls()).toHaveLength(1);
  });

  it('token endpoint errors name the OAuth error and description, with kind auth and no secret', async () => {
    tokenServer(() => 'Invalid value for client_secret parameter.');
    const err = await http({ auth: oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'app', clientSecret: 'wrong-secret-value' }) })
      .request({ url: '/api/v1/users' })
      .then(() => new Error('expected a failure'), (e: Error) => e);
    expect(err).toMatchObject({
      kind: 'auth',
      message: 'test: POST /oauth2/token answered 401 invalid_client: Invalid value for client_secret parameter. (token request)',
    });
    expect(err.message).not.toContain('wrong-secret-value');
    expect(apiCalls()).toHaveLength(0);
  });

  it('an unreadable private key is a config error that does not echo the key', async () => {
    const err = await http({ auth: oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth2/token`, clientId: 'c', privateKeyJwt: { privateKeyPem: 'not-a-key-material' } }) })
      .request({ url: '/x' })
      .then(() => new Error('expected a failure'), (e: Error) => e);
    expect(err).toMatchObject({ kind: 'config' });
    expect(err.message).not.toContain('not-a-key-material');
  });
});
