import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe.each(BACKENDS)('service foundation on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  it('answers /healthz with a check per dependency, without a key', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.status).toBe('ok');
    expect(body.checks.database).toMatchObject({ status: 'ok', kind: backend });
    expect(body.checks.cache).toMatchObject({ status: 'ok', kind: backend === 'postgres' ? 'redis' : 'memory' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ ready: true });
  });

  it('refuses every non-public route without a valid key', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const operations = Object.entries(spec.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([p, ops]) =>
      Object.entries(ops).map(([m, op]) => [m.toUpperCase(), p, Array.isArray(op.security) && op.security.length === 0] as const),
    );
    // routes meant for callers without an API key say so in the OpenAPI document (security: [])
    const publicOps = operations.filter(([, , isPublic]) => isPublic).map(([m, p]) => `${m} ${p}`);
    expect(publicOps).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /metrics']));
    let checked = 0;
    for (const [method, p, isPublic] of operations) {
      if (isPublic || p.startsWith('/docs')) continue;
      const url = p.replace(/\{[^}]+\}/g, 'x');
      const anonymous = await t.app.inject({ method: method as 'GET', url });
      expect(anonymous.statusCode, `${method} ${p}`).toBe(401);
      const wrong = await t.app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer pip_AAAAAAAAAAAA_notarealkeynotarealkeynotarealkey' } });
      expect(wrong.statusCode, `${method} ${p}`).toBe(401);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('publishes an OpenAPI document with request and response schemas for every operation', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const spec = r.json();
    expect(spec.openapi).toMatch(/^3\./);
    const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
    await SwaggerParser.validate(structuredClone(spec));
    for (const [p, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses ?? {}).length, `${method} ${p} responses`).toBeGreaterThan(0);
        const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
        expect(ok, `${method} ${p} has a 2xx response`).toBeTruthy();
        if (['post', 'put', 'patch'].includes(method) && op.requestBody) {
          expect(op.requestBody.content['application/json'].schema, `${method} ${p} body schema`).toBeTruthy();
        }
      }
    }
    const html = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(html.statusCode).toBe(200);
  });

  it('returns one error shape: unknown routes, malformed JSON, oversized bodies, field paths', async () => {
    const notFound = await t.app.inject({ method: 'GET', url: '/nope', headers: t.auth() });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json().error.code).toBe('PIP_ROUTE_NOT_FOUND');

    const badJson = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: { ...t.auth(), 'content-type': 'application/json' }, payload: '{"id": "x",' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('PIP_INVALID_JSON');

    const big = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: { ...t.auth(), 'content-type': 'application/json' }, payload: JSON.stringify({ id: 'big', name: 'x'.repeat(2_000_000) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('PIP_PAYLOAD_TOO_LARGE');

    const invalid = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id: 'Bad Id!', name: 'x' } });
    expect(invalid.statusCode).toBe(400);
    const err = invalid.json().error;
    expect(err.code).toBe('PIP_VALIDATION_FAILED');
    expect(err.details.problems[0].path).toBe('body.id');

    const missing = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id: 'ok' } });
    expect(missing.json().error.details.problems[0]).toEqual({ path: 'body.name', message: 'is required' });
    expect(missing.body).not.toContain('stack');
  });

  it('returns the client request id, or generates one', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers['x-request-id']).toBe('trace-123');
    const generated = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics with request counts and durations by route', async () => {
    await t.app.inject({ method: 'GET', url: '/pip/tenants', headers: t.auth() });
    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('pip_http_requests_total{method="GET",route="/pip/tenants",status="200"}');
    expect(r.body).toContain('pip_http_request_duration_seconds_bucket');
    expect(r.body).toContain('pip_process_cpu_user_seconds_total');
  });
});

describe('rate limiting per key', () => {
  it('answers 429 with the error shape once a key passes its limit', async () => {
    const t = await startTestApp('embedded', { PIP_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await t.app.inject({ method: 'GET', url: '/pip/tenants', headers: t.auth() })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const r = await t.app.inject({ method: 'GET', url: '/pip/tenants', headers: t.auth() });
      expect(r.json().error.code).toBe('PIP_RATE_LIMITED');
      // health stays reachable for probes
      expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // a caller without a valid key cannot get a fresh budget by sending a different token each time
      const anonymous: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.app.inject({ method: 'GET', url: '/pip/oauth/callback/okta?state=bogus&code=x', headers: { authorization: `Bearer made-up-${i}` }, remoteAddress: '10.9.8.7' });
        anonymous.push(r.statusCode);
      }
      expect(anonymous.slice(0, 3).every((c) => c >= 400 && c < 429)).toBe(true);
      expect(anonymous.slice(3)).toEqual([429, 429]);
    } finally {
      await t.close();
    }
  });
});
