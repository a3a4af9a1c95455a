/**
 * Throttling and backoff against a real HTTP server: Retry-After in seconds and as a date, reset
 * headers as epoch seconds and as deltas, Google's 403 reasons, the proactive budget (shared per
 * key), backoff on 5xx, the maximum wait, and an abort in the middle of a wait.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startHttpServer, type Handler, type TestHttpServer } from '../../../test/fakes/http-server.ts';
import { exponentialBackoff, parseResetHeader, parseRetryAfter, RateLimitBudgets, RateLimitPolicy } from './rate-limit.ts';
import { RateLimitEvents } from './rate-limit-events.ts';
import { Requester, type RequesterOptions } from './requester.ts';

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer((_req, res) => sendJson(res, 200, {}));
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
});

function serve(handler: Handler): void {
  server.handler = handler;
}

interface Wait {
  waitMs: number;
  reason: string;
}

function requester(over: Partial<RequesterOptions> = {}): { http: Requester; waits: Wait[] } {
  const waits: Wait[] = [];
  const http = new Requester({
    source: 'test',
    baseUrl: server.url,
    backoff: exponentialBackoff({ initialMs: 20, maxMs: 100 }),
    rateLimit: new RateLimitPolicy({ budgets: new RateLimitBudgets() }),
    onRateLimited: (waitMs, reason) => void waits.push({ waitMs, reason }),
    ...over,
  });
  return { http, waits };
}

/** throttles the first `times` requests with the given headers, then answers 200 */
function throttleFirst(times: number, headers: () => Record<string, string>, status = 429, body: unknown = { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' }): void {
  let n = 0;
  serve((_req, res) => (n++ < times ? sendJson(res, status, body, headers()) : sendJson(res, 200, { ok: true, n })));
}

describe('parsing waits', () => {
  it('Retry-After as seconds or HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('reset headers: epoch seconds, epoch ms, or delta seconds', () => {
    const now = 1_767_225_600_000;
    expect(parseResetHeader('1767225610', now)).toBe(1_767_225_610_000);
    expect(parseResetHeader('1767225610000', now)).toBe(1_767_225_610_000);
    expect(parseResetHeader('30', now)).toBe(now + 30_000);
    expect(parseResetHeader('-', now)).toBeUndefined();
  });

  it('full jitter stays between 0 and the capped exponential ceiling', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 1000, random: () => 0.999 });
    expect(b.delayMs(0)).toBe(100);
    expect(b.delayMs(3)).toBe(799);
    expect(b.delayMs(10)).toBe(999);
    expect(exponentialBackoff({ initialMs: 100, random: () => 0 }).delayMs(4)).toBe(0);
  });
});

describe('throttled answers', () => {
  it('waits as long as Retry-After (seconds) says, then succeeds', async () => {
    throttleFirst(1, () => ({ 'retry-after': '1' }));
    const { http, waits } = requester();
    const t0 = Date.now();
    const res = await http.request<{ ok: boolean }>({ url: '/x' });
    expect(res.body.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(waits).toEqual([{ waitMs: 1000, reason: 'GET /x answered 429 E0000047 (retry-after)' }]);
    expect(server.requests).toHaveLength(2);
  });

  it('RateLimitEvents turns each wait into one rate_limited read message', async () => {
    throttleFirst(2, () => ({ 'retry-after': '0' }));
    const events = new RateLimitEvents();
    const { http } = requester({ onRateLimited: events.onRateLimited });
    await http.request({ url: '/x' });
    expect([...events.drain()]).toEqual([
      { type: 'rate_limited', waitMs: 0, reason: 'GET /x answered 429 E0000047 (retry-after)' },
      { type: 'rate_limited', waitMs: 0, reason: 'GET /x answered 429 E0000047 (retry-after)' },
    ]);
    expect([...events.drain()]).toEqual([]);
  });

  it('waits until a Retry-After HTTP date', async () => {
    throttleFirst(1, () => ({ 'retry-after': new Date(Date.now() + 2000).toUTCString() }));
    const { http, waits } = requester();
    const t0 = Date.now();
    await http.request({ url: '/x' });
    // the date has a one-second resolution
    expect(waits[0]!.waitMs).toBeGreaterThan(900);
    expect(waits[0]!.waitMs).toBeLessThanOrEqual(2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(waits[0]!.waitMs - 5);
  });

  it('waits until X-Rate-Limit-Reset (epoch seconds), and the server sees no early retry', async () => {
    let resetAt = 0;
    const early: number[] = [];
    serve((_req, res) => {
      const now = Date.now();
      if (resetAt === 0) resetAt = Math.ceil(now / 1000) * 1000 + 1000;
      if (now < resetAt) {
        if (server.requests.length > 1) early.push(now);
        return sendJson(res, 429, {}, { 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(resetAt / 1000) });
      }
      return sendJson(res, 200, { ok: true });
    });
    const { http, waits } = requester();
    await http.request({ url: '/api/v1/users' });
    expect(early).toEqual([]);
    expect(server.requests).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]!.reason).toBe('GET /api/v1/users answered 429 (x-rate-limit-reset)');
  });

  it('waits for RateLimit-Reset given as delta seconds', async () => {
    throttleFirst(1, () => ({ 'ratelimit-reset': '1' }), 429, {});
    const { http, waits } = requester();
    await http.request({ url: '/x' });
    expect(waits[0]!.waitMs).toBeGreaterThanOrEqual(990);
    expect(waits[0]!.waitMs).toBeLessThanOrEqual(1000);
  });

  it("treats Google's 403 userRateLimitExceeded as a throttle and backs off, but a plain 403 as a permission error", async () => {
    const google = { error: { code: 403, message: 'Rate Limit Exceeded', errors: [{ domain: 'usageLimits', reason: 'userRateLimitExceeded' }] } };
    throttleFirst(2, () => ({}), 403, google);
    const { http, waits } = requester();
    await http.request({ url: '/admin/directory/v1/users' });
    expect(waits.map((w) => w.reason)).toEqual([
      'GET /admin/directory/v1/users answered 403 userRateLimitExceeded',
      'GET /admin/directory/v1/users answered 403 userRateLimitExceeded',
    ]);
    expect(waits.every((w) => w.waitMs <= 100)).toBe(true);

    const denied = { error: { code: 403, message: 'Not Authorized to access this resource/api', errors: [{ reason: 'forbidden' }] } };
    throttleFirst(1, () => ({}), 403, denied);
    await expect(requester().http.request({ url: '/admin/directory/v1/users' })).rejects.toMatchObject({
      kind: 'permission',
      message: 'test: GET /admin/directory/v1/users answered 403 forbidden: Not Authorized to access this resource/api',
    });
  });

  it('treats 503 with Retry-After as a throttle', async () => {
    throttleFirst(1, () => ({ 'retry-after': '0' }), 503, {});
    const { http, waits } = requester();
    await http.request({ url: '/x' });
    expect(waits).toEqual([{ waitMs: 0, reason: 'GET /x answered 503 (retry-after)' }]);
  });

  it('fails with kind rate_limited when the provider asks for a wait above the maximum', async () => {
    throttleFirst(1, () => ({ 'retry-after': '3600' }));
    const { http, waits } = requester({ rateLimit: new RateLimitPolicy({ maxWaitMs: 60_000, budgets: new RateLimitBudgets() }) });
    await expect(http.request({ url: '/x' })).rejects.toMatchObject({ kind: 'rate_limited', message: expect.stringContaining('wait 3600 s, more than the 60 s allowed') });
    expect(waits).toEqual([]);
  });

  it('gives up after the policy retries', async () => {
    throttleFirst(100, () => ({}));
    const { http } = requester({ rateLimit: new RateLimitPolicy({ maxRetries: 3, budgets: new RateLimitBudgets() }) });
    await expect(http.request({ url: '/x' })).rejects.toMatchObject({ kind: 'rate_limited', message: expect.stringContaining('still throttled after 3 waits') });
    expect(server.requests).toHaveLength(4);
  });

  it('an abort during a wait ends the request at once as cancelled', async () => {
    throttleFirst(1, () => ({ 'retry-after': '30' }));
    const controller = new AbortController();
    const { http } = requester({ signal: controller.signal, onRateLimited: () => setTimeout(() => controller.abort(), 50) });
    const t0 = Date.now();
    await expect(http.request({ url: '/x' })).rejects.toMatchObject({ kind: 'cancelled' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(server.requests).toHaveLength(1);
  });
});

describe('budget', () => {
  /** a window of `limit` calls that resets at the next second boundary + 1 s */
  function windowed(limit: number): { throttled: () => number } {
    let resetAt = 0;
    let used = 0;
    let throttled = 0;
    serve((_req, res) => {
      const now = Date.now();
      if (now >= resetAt) {
        resetAt = Math.ceil(now / 1000) * 1000 + 1000;
        used = 0;
      }
      const headers = { 'x-rate-limit-limit': String(limit), 'x-rate-limit-reset': String(resetAt / 1000) };
      if (used >= limit) {
        throttled += 1;
        return sendJson(res, 429, {}, { ...headers, 'x-rate-limit-remaining': '0' });
      }
      used += 1;
      return sendJson(res, 200, { used }, { ...headers, 'x-rate-limit-remaining': String(limit - used) });
    });
    return { throttled: () => throttled };
  }

  it('waits for the reset when the remaining calls reach the low-water mark, before being throttled', async () => {
    const window = windowed(3);
    const { http, waits } = requester();
    for (let i = 0; i < 5; i++) await http.request({ url: '/api/v1/groups' });
    expect(window.throttled()).toBe(0);
    expect(waits).toHaveLength(1);
    expect(waits[0]!.reason).toBe('GET /api/v1/groups: rate-limit budget: 0 of 3 calls left until the window resets');
    expect(waits[0]!.waitMs).toBeGreaterThan(0);
  });

  it('keeps a low-water reserve when asked to', async () => {
    const window = windowed(4);
    const { http, waits } = requester({ rateLimit: new RateLimitPolicy({ lowWater: 2, budgets: new RateLimitBudgets() }) });
    for (let i = 0; i < 3; i++) await http.request({ url: '/x' });
    expect(window.throttled()).toBe(0);
    // 2 calls spend the window down to the reserve of 2; the third waits
    expect(waits).toHaveLength(1);
  });

  it('is shared by requesters with the same key, so two connections of one org spend one budget', async () => {
    const window = windowed(4);
    const budgets = new RateLimitBudgets();
    const a = requester({ rateLimit: new RateLimitPolicy({ budgets, budgetKey: 'okta|acme' }) });
    const b = requester({ rateLimit: new RateLimitPolicy({ budgets, budgetKey: 'okta|acme' }) });
    for (let i = 0; i < 3; i++) {
      await a.http.request({ url: '/a' });
      await b.http.request({ url: '/b' });
    }
    expect(window.throttled()).toBe(0);
    expect(a.waits.length + b.waits.length).toBeGreaterThanOrEqual(1);

    // with separate budgets, the second requester does not know the window is spent
    const w2 = windowed(2);
    await new Promise((r) => setTimeout(r, 1100));
    const c = requester();
    const d = requester({ rateLimit: new RateLimitPolicy({ budgets: new RateLimitBudgets(), maxRetries: 5 }) });
    await c.http.request({ url: '/c' });
    await c.http.request({ url: '/c' });
    await d.http.request({ url: '/d' });
    expect(w2.throttled()).toBeGreaterThan(0);
  });
});

describe('backoff on server errors', () => {
  it('retries 502/503/500 with backoff, then succeeds', async () => {
    const statuses = [502, 503, 500];
    serve((_req, res) => (statuses.length ? sendJson(res, statuses.shift()!, { error: { code: 'serviceUnavailable', message: 'try later' } }) : sendJson(res, 200, { ok: true })));
    const { http, waits } = requester();
    const res = await http.request<{ ok: boolean }>({ url: '/v1.0/users' });
    expect(res.body.ok).toBe(true);
    expect(waits.map((w) => w.reason)).toEqual(['GET /v1.0/users answered 502; retry 1 of 5', 'GET /v1.0/users answered 503; retry 2 of 5', 'GET /v1.0/users answered 500; retry 3 of 5']);
    expect(http.stats).toMatchObject({ requests: 4, retries: 3 });
  });

  it('gives up after maxRetries with kind transient and the provider summary', async () => {
    serve((_req, res) => sendJson(res, 500, { error: { code: 'InternalServerError', message: 'boom' } }));
    const { http } = requester({ maxRetries: 2 });
    await expect(http.request({ url: '/v1.0/groups', query: { $top: 5 } })).rejects.toMatchObject({
      kind: 'transient',
      message: 'test: GET /v1.0/groups answered 500 InternalServerError: boom; gave up after 2 retries',
    });
    expect(server.requests).toHaveLength(3);
  });

  it('retries a reset connection', async () => {
    let n = 0;
    serve((_req, res) => void (n++ === 0 ? res.socket?.destroy() : sendJson(res, 200, { ok: true })));
    const { http, waits } = requester();
    await http.request({ url: '/x' });
    expect(waits).toHaveLength(1);
    expect(waits[0]!.reason).toMatch(/^GET \/x failed \((unreachable|timeout)\); retry 1 of 5$/);
  });
});
