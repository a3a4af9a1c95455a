/**
 * The Requester against a real HTTP server: URL and body handling, error messages that name the
 * request and the provider's own error, the network guard (once per host, redirects included),
 * credentials never following a redirect or a next link to another origin, timeouts, refused
 * connections and bodies that are not what they claim.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../../test/fakes/connector-context.ts';
import { sendJson, startHttpServer, type TestHttpServer } from '../../../test/fakes/http-server.ts';
import { createNetworkGuard } from '../network-guard.ts';
import type { NetworkGuard } from '../types.ts';
import { bearerAuth } from './auth.ts';
import { createErrorHandler } from './errors.ts';
import { linkHeaderPaginator } from './paginators.ts';
import { RateLimitBudgets, RateLimitPolicy } from './rate-limit.ts';
import { jsonPathSelector } from './record-selector.ts';
import { Requester, type RequesterOptions } from './requester.ts';

let server: TestHttpServer;
let other: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer((_req, res) => sendJson(res, 200, {}));
  other = await startHttpServer((_req, res) => sendJson(res, 200, { where: 'other' }));
});
afterAll(async () => {
  await server.close();
  await other.close();
});
afterEach(() => {
  server.requests.length = 0;
  other.requests.length = 0;
});

const make = (over: Partial<RequesterOptions> = {}) => new Requester({ source: 'test', baseUrl: `${server.url}/api/v1`, rateLimit: new RateLimitPolicy({ budgets: new RateLimitBudgets() }), maxRetries: 0, ...over });

describe('requests', () => {
  it('joins paths under a base URL with a path, merges query values and sends JSON, form and text bodies', async () => {
    server.handler = (req, res) => sendJson(res, 200, { method: req.method, path: req.url.pathname, query: req.url.search, type: req.headers['content-type'] ?? null, body: req.body });
    const http = make({ userAgent: 'pip-test/1.0' });
    const get = await http.request<{ path: string; query: string }>({ url: '/users?filter=a&limit=5', query: { limit: 10, expand: ['groups', 'roles'], skip: undefined } });
    expect(get.body).toMatchObject({ path: '/api/v1/users', query: '?filter=a&limit=10&expand=groups&expand=roles' });
    expect(server.requests[0]!.headers['user-agent']).toBe('pip-test/1.0');
    expect(server.requests[0]!.headers.accept).toBe('application/json');
    const json = await http.request<{ type: string; body: string }>({ method: 'post', url: 'search', body: { q: 'x' } });
    expect(json.body).toMatchObject({ method: 'POST', type: 'application/json', body: '{"q":"x"}' });
    const formBody = await http.request<{ type: string; body: string }>({ method: 'POST', url: '/token', body: new URLSearchParams({ a: '1 2' }) });
    expect(formBody.body).toMatchObject({ type: 'application/x-www-form-urlencoded', body: 'a=1+2' });
    const text = await http.request<{ type: string }>({ method: 'PUT', url: '/doc', body: 'hello', headers: { 'content-type': 'text/yaml' } });
    expect(text.body.type).toBe('text/yaml');
    expect(get.url).toBe(`${server.url}/api/v1/users?filter=a&limit=10&expand=groups&expand=roles`);
  });

  it('reads text answers as text and JSON answers as JSON', async () => {
    server.handler = (req, res) => {
      res.writeHead(200, { 'content-type': req.url.pathname.endsWith('.yaml') ? 'application/yaml' : 'application/vnd.api+json' });
      res.end(req.url.pathname.endsWith('.yaml') ? 'openapi: 3.0.3\n' : '{"data":[1]}');
    };
    expect((await make().request({ url: '/spec.yaml' })).body).toBe('openapi: 3.0.3\n');
    expect((await make().request({ url: '/things' })).body).toEqual({ data: [1] });
    expect((await make().request({ url: '/things', responseType: 'text' })).body).toBe('{"data":[1]}');
  });
});

describe('error messages', () => {
  const cases: Array<[string, number, unknown, string, string]> = [
    ['Okta', 404, { errorCode: 'E0000007', errorSummary: 'Not found: Resource not found: 00u1 (User)', errorId: 'oae1' }, 'config', 'GET /api/v1/users/00u1 answered 404 E0000007: Not found: Resource not found: 00u1 (User)'],
    ['Graph', 403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } }, 'permission', 'GET /api/v1/users/00u1 answered 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.'],
    ['Auth0', 400, { statusCode: 400, error: 'Bad Request', message: 'Query validation error: invalid page', errorCode: 'invalid_query_string' }, 'config', 'GET /api/v1/users/00u1 answered 400 invalid_query_string: Query validation error: invalid page'],
    ['Google', 404, { error: { code: 404, message: 'Resource Not Found: userKey', errors: [{ reason: 'notFound' }] } }, 'config', 'GET /api/v1/users/00u1 answered 404 notFound: Resource Not Found: userKey'],
    ['problem+json', 422, { type: 'about:blank', title: 'Unprocessable', detail: 'field x is invalid' }, 'config', 'GET /api/v1/users/00u1 answered 422 field x is invalid'],
  ];
  it.each(cases)('%s: names method, path, status and the provider code and summary', async (_name, status, body, kind, message) => {
    server.handler = (_req, res) => sendJson(res, status, body);
    await expect(make().request({ url: '/users/00u1', query: { api_token: 'query-secret' } })).rejects.toMatchObject({ kind, message: `test: ${message}`, detail: { status } });
  });

  it('never puts the query string in a message', async () => {
    server.handler = (_req, res) => sendJson(res, 404, {});
    const err = await make().request({ url: '/users?token=abc123secret' }).then(() => new Error('expected a failure'), (e: Error) => e);
    expect(err.message).toBe('test: GET /api/v1/users answered 404');
  });

  it('a custom ErrorHandler can fail a 200 whose body reports an error', async () => {
    server.handler = (_req, res) => sendJson(res, 200, { ok: false, error: 'invalid_auth' });
    const errorHandler = createErrorHandler({ inspect: (res) => ((res.body as { ok?: boolean }).ok === false ? { action: 'fail', kind: 'auth' } : undefined) });
    await expect(make({ errorHandler }).request({ url: '/auth.test' })).rejects.toMatchObject({ kind: 'auth' });
  });

  it('a 200 that claims JSON but is not is a protocol error', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>login</html>');
    };
    await expect(make().request({ url: '/users' })).rejects.toMatchObject({ kind: 'protocol', message: 'test: GET /api/v1/users answered 200 with a body that is not valid JSON' });
  });

  it('a record selector refuses an HTML page instead of reading it as no records', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>sign in</html>');
    };
    const pages = make().paginate({ url: '/users' }, linkHeaderPaginator(), jsonPathSelector('$.data'));
    await expect(pages.next()).rejects.toMatchObject({ kind: 'protocol', message: expect.stringContaining('text/html, not a JSON document') });
  });
});

describe('network', () => {
  it('checks each host once with the network guard', async () => {
    const asked: string[] = [];
    const guard: NetworkGuard = { assertAllowed: async (host) => void asked.push(host) };
    const http = make({ networkGuard: guard });
    for (let i = 0; i < 3; i++) await http.request({ url: '/x' });
    await http.request({ url: `${other.url}/y` });
    await http.request({ url: `${other.url.replace('127.0.0.1', 'localhost')}/z` });
    expect(asked).toEqual(['127.0.0.1', 'localhost']);
  });

  it('refuses a blocked address before connecting', async () => {
    const http = make({ networkGuard: createNetworkGuard({ allowLoopback: false }) });
    await expect(http.request({ url: '/x' })).rejects.toMatchObject({ kind: 'blocked' });
    expect(server.requests).toHaveLength(0);
  });

  it('follows redirects through the guard and drops credentials when the origin changes', async () => {
    server.handler = (req, res): void => {
      if (req.url.pathname === '/api/v1/moved') {
        res.writeHead(302, { location: '/api/v1/here' }).end();
        return;
      }
      if (req.url.pathname === '/api/v1/away') {
        res.writeHead(307, { location: `${other.url.replace('127.0.0.1', 'localhost')}/elsewhere` }).end();
        return;
      }
      return sendJson(res, 200, { auth: req.headers.authorization ?? null });
    };
    const asked: string[] = [];
    const http = make({ auth: bearerAuth('tok-secret'), networkGuard: { assertAllowed: async (h) => void asked.push(h) } });
    expect((await http.request<{ auth: string }>({ url: '/moved' })).body.auth).toBe('Bearer tok-secret');
    const away = await http.request<{ where: string }>({ url: '/away' });
    expect(away.body.where).toBe('other');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(asked).toEqual(['127.0.0.1', 'localhost']);
  });

  it('does not send credentials to another origin a next-page link points at', async () => {
    server.handler = (_req, res) => sendJson(res, 200, [{ id: 1 }], { link: `<${other.url.replace('127.0.0.1', 'localhost')}/steal>; rel="next"` });
    const http = make({ auth: bearerAuth('tok-secret') });
    const pages = http.paginate({ url: '/users' }, linkHeaderPaginator(), jsonPathSelector('$'));
    expect(await pages.next()).toMatchObject({ value: [{ id: 1 }] });
    await expect(pages.next()).rejects.toMatchObject({ kind: 'protocol', message: expect.stringContaining('points at another origin') });
    expect(other.requests).toHaveLength(0);
  });

  it('a refused connection is kind unreachable, without retries', async () => {
    const port = await closedPort();
    await expect(make({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 3 }).request({ url: '/x' })).rejects.toMatchObject({
      kind: 'unreachable',
      message: `test: GET /x: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`,
    });
  });

  it('a slow answer times out with kind timeout after the retries', async () => {
    server.handler = (_req, res) => void setTimeout(() => sendJson(res, 200, {}), 1500);
    const http = make({ timeoutMs: 200, maxRetries: 1, backoff: { delayMs: () => 10 } });
    const t0 = Date.now();
    await expect(http.request({ url: '/slow' })).rejects.toMatchObject({ kind: 'timeout', message: 'test: GET /api/v1/slow got no answer within 200 ms' });
    expect(Date.now() - t0).toBeLessThan(1400);
    expect(server.requests).toHaveLength(2);
  });

  it('an aborted signal cancels a request in flight', async () => {
    server.handler = (_req, res) => void setTimeout(() => sendJson(res, 200, {}), 2000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(make({ signal: controller.signal }).request({ url: '/slow' })).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('refuses URLs that are not http(s)', async () => {
    await expect(make().request({ url: 'file:///etc/passwd' })).rejects.toMatchObject({ kind: 'config' });
  });
});
