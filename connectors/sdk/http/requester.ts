/**
 * Requester: the one way connectors talk HTTP. It resolves URLs against a base, checks every host
 * once with the network guard (redirects included, followed by hand), adds credentials (only for
 * origins the caller asked for — never to a host a next-page link or a redirect points at), sends
 * with a per-request timeout and the caller's abort signal, and turns every answer into success or
 * a SourceError:
 *
 *   throttled (RateLimitPolicy)     wait as the provider says (Retry-After, reset headers) or back
 *                                   off, up to the policy's retries; waits above its maximum fail
 *   budget low (RateLimitPolicy)    wait for the reset before the call
 *   401                             AuthStrategy.refresh() once, then retry once
 *   5xx, 408, resets, timeouts      exponential backoff with jitter, up to `maxRetries`
 *   anything else the ErrorHandler  fails with its kind, naming method, path, status and the
 *   says fails                      provider's error code and summary
 *
 * Every wait is reported through `onRateLimited(waitMs, reason)` before it starts and ends early
 * when the signal aborts. Messages never carry a query string, a header or a credential: values
 * the auth strategy lists as secret are scrubbed from provider text too.
 */
import { classifyNetworkError, SourceError, type SourceErrorKind } from '../errors.ts';
import { cancelledError } from '../read-helpers.ts';
import type { NetworkGuard } from '../types.ts';
import type { AuthContext, AuthStrategy } from './auth.ts';
import { defaultErrorHandler, formatErrorSummary, type ErrorHandler, type ErrorSummary } from './errors.ts';
import type { Paginator } from './paginators.ts';
import { exponentialBackoff, RateLimitPolicy, sleep, type BackoffStrategy } from './rate-limit.ts';
import type { RecordSelector } from './record-selector.ts';
import { describeRequest, type HttpRequest, type HttpResponse } from './types.ts';

export interface RequesterOptions {
  /** connector type, the first word of every message */
  source: string;
  baseUrl?: string;
  auth?: AuthStrategy;
  rateLimit?: RateLimitPolicy;
  backoff?: BackoffStrategy;
  errorHandler?: ErrorHandler;
  /** per request, body included (default 30 s) */
  timeoutMs?: number;
  /** retries after 5xx / network errors / timeouts (default 5); throttles count separately */
  maxRetries?: number;
  networkGuard?: NetworkGuard;
  signal?: AbortSignal;
  onRateLimited?: (waitMs: number, reason: string) => void;
  fetch?: typeof fetch;
  userAgent?: string;
  /** sent with every request */
  headers?: Record<string, string>;
  maxRedirects?: number;
  /** answers above this size fail with kind `protocol` (default 64 MiB) */
  maxBodyBytes?: number;
}

/** One page of a paginated listing. */
export interface Page<T> {
  records: T[];
  request: HttpRequest;
  response: HttpResponse<unknown>;
  /** the request for the following page; undefined on the last page */
  next?: HttpRequest;
  /** what the last page leaves for the next run (e.g. `{ deltaLink }`) */
  end?: Record<string, unknown>;
}

export interface RequesterStats {
  requests: number;
  retries: number;
  throttled: number;
  refreshed: number;
  waitedMs: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A transport failure with whether another attempt could help. */
class TransportFailure extends Error {
  constructor(
    readonly error: SourceError,
    readonly retryable: boolean,
  ) {
    super(error.message);
  }
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function encodeBody(body: unknown): { body?: string | Uint8Array; contentType?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body === 'string') return { body, contentType: 'text/plain;charset=utf-8' };
  if (body instanceof URLSearchParams) return { body: body.toString(), contentType: 'application/x-www-form-urlencoded' };
  if (body instanceof Uint8Array) return { body, contentType: 'application/octet-stream' };
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

const isJsonType = (contentType: string | null): boolean => contentType !== null && /[/+]json\b/i.test(contentType);

export class Requester {
  readonly source: string;
  readonly stats: RequesterStats = { requests: 0, retries: 0, throttled: 0, refreshed: 0, waitedMs: 0 };
  private readonly opts: RequesterOptions;
  private readonly rateLimit: RateLimitPolicy;
  private readonly backoff: BackoffStrategy;
  private readonly errorHandler: ErrorHandler;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly fetchImpl: typeof fetch;
  private readonly guarded = new Map<string, Promise<void>>();
  /** origins credentials may be sent to: the base URL's and those the caller requested directly */
  private readonly trusted = new Set<string>();
  private readonly authContext: AuthContext;

  constructor(opts: RequesterOptions) {
    this.opts = opts;
    this.source = opts.source;
    this.rateLimit = opts.rateLimit ?? new RateLimitPolicy();
    this.backoff = opts.backoff ?? exponentialBackoff();
    this.errorHandler = opts.errorHandler ?? defaultErrorHandler;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxRetries = opts.maxRetries ?? 5;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    if (opts.baseUrl) this.trusted.add(this.resolve({ url: opts.baseUrl }).origin);
    this.authContext = {
      source: opts.source,
      send: async (req) => {
        try {
          return await this.transport(req, false);
        } catch (err) {
          throw err instanceof TransportFailure ? err.error : err;
        }
      },
    };
  }

  /** One request; resolves with a successful answer or rejects with a SourceError. */
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    return this.execute<T>(req, true);
  }

  /** Pages of records, one at a time (bounded memory). */
  async *paginate<T>(req: HttpRequest, paginator: Paginator, selector: RecordSelector<T>): AsyncGenerator<T[]> {
    for await (const page of this.pages(req, paginator, selector)) yield page.records;
  }

  /** Pages with their request, response, the next request (to checkpoint) and the end state. */
  async *pages<T>(req: HttpRequest, paginator: Paginator, selector: RecordSelector<T>): AsyncGenerator<Page<T>> {
    let request: HttpRequest | undefined = paginator.start ? paginator.start(req) : req;
    let first = true;
    let previous: string | undefined;
    while (request) {
      const key = this.requestKey(request);
      if (key === previous) throw new SourceError(this.source, `${this.describe(request)}: the ${paginator.name} paginator asked for the same page twice`, { kind: 'protocol' });
      previous = key;
      const response = await this.execute<unknown>(request, first);
      first = false;
      const records = selector.select(response);
      const page = { request, response, records: records.length };
      const next = paginator.next(page);
      yield { records, request, response, next, end: next ? undefined : paginator.end?.(page) };
      request = next;
    }
  }

  private describe(req: HttpRequest): string {
    try {
      return describeRequest(req.method, this.resolve(req));
    } catch {
      return `${(req.method ?? 'GET').toUpperCase()} (invalid URL)`;
    }
  }

  private requestKey(req: HttpRequest): string {
    const body = req.body instanceof URLSearchParams ? req.body.toString() : JSON.stringify(req.body ?? null);
    return `${(req.method ?? 'GET').toUpperCase()} ${this.resolve(req).toString()} ${body}`;
  }

  /** the request's URL, base and query applied, without credentials */
  resolve(req: Pick<HttpRequest, 'url' | 'query'>): URL {
    let url: URL;
    try {
      if (/^[a-z][a-z0-9+.-]*:/i.test(req.url) || !this.opts.baseUrl) url = new URL(req.url);
      else url = new URL(`${this.opts.baseUrl.replace(/\/+$/, '')}/${req.url.replace(/^\/+/, '')}`);
    } catch {
      throw new SourceError(this.source, `"${req.url.split('?')[0]}" is not a valid URL${this.opts.baseUrl ? ' (nor a path under the base URL)' : ''}`, { kind: 'config' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new SourceError(this.source, `only http and https URLs are supported, not ${url.protocol}`, { kind: 'config' });
    }
    for (const [name, value] of Object.entries(req.query ?? {})) {
      url.searchParams.delete(name);
      if (value === null || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
    }
    return url;
  }

  private secrets(): string[] {
    return (this.opts.auth?.secrets?.() ?? []).filter((s) => s.length >= 4);
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets()) out = out.split(s).join('[redacted]');
    return out;
  }

  private httpError(req: { method: string; url: URL }, res: HttpResponse<unknown>, summary: ErrorSummary | undefined, kind: SourceErrorKind, note = ''): SourceError {
    const text = formatErrorSummary(summary);
    const message = `${describeRequest(req.method, req.url)} answered ${res.status}${text ? ` ${text}` : ''}${note}`;
    return new SourceError(this.source, this.scrub(message), {
      kind,
      detail: { status: res.status, method: req.method, path: req.url.pathname, ...(summary?.code ? { providerCode: this.scrub(summary.code) } : {}) },
    });
  }

  /** the provider's error summary; a JSON error body read as text (responseType 'text') is parsed first */
  private summarize(body: unknown): ErrorSummary | undefined {
    if (typeof body === 'string' && /^\s*[[{]/.test(body)) {
      try {
        return this.errorHandler.summarize(JSON.parse(body));
      } catch {
        // not JSON after all: summarised as text
      }
    }
    return this.errorHandler.summarize(body);
  }

  private async wait(ms: number, reason: string): Promise<void> {
    const waitMs = Math.max(0, Math.round(ms));
    this.stats.waitedMs += waitMs;
    this.opts.onRateLimited?.(waitMs, this.scrub(reason));
    await sleep(waitMs, this.opts.signal, this.source);
  }

  private tooLong(what: string, waitMs: number): SourceError {
    return new SourceError(this.source, `${what}: the provider asks to wait ${Math.ceil(waitMs / 1000)} s, more than the ${Math.round(this.rateLimit.maxWaitMs / 1000)} s allowed`, {
      kind: 'rate_limited',
    });
  }

  private async execute<T>(req: HttpRequest, direct: boolean): Promise<HttpResponse<T>> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = this.resolve(req);
    const what = describeRequest(method, url);
    if (direct) this.trusted.add(url.origin);
    else if (!this.trusted.has(url.origin)) {
      throw new SourceError(this.source, `${what}: a next-page link points at another origin (${url.host}); credentials are not sent there`, { kind: 'protocol' });
    }
    const budgetKey = this.rateLimit.budgetKey(`${this.source}|${url.origin}`);
    let errors = 0;
    let throttles = 0;
    let refreshed = false;
    for (;;) {
      if (this.opts.signal?.aborted) throw cancelledError(this.source, this.opts.signal);
      const budget = this.rateLimit.budgetWait(budgetKey);
      if (budget && budget.waitMs > 0) {
        if (budget.waitMs > this.rateLimit.maxWaitMs) throw this.tooLong(what, budget.waitMs);
        await this.wait(budget.waitMs, `${what}: ${budget.reason}`);
      }
      this.rateLimit.spend(budgetKey);

      let res: HttpResponse<unknown>;
      try {
        res = await this.transport({ ...req, method }, true);
      } catch (err) {
        if (!(err instanceof TransportFailure)) throw err;
        if (!err.retryable || errors >= this.maxRetries) throw err.error;
        const delay = this.backoff.delayMs(errors);
        errors += 1;
        this.stats.retries += 1;
        await this.wait(delay, `${what} failed (${err.error.kind}); retry ${errors} of ${this.maxRetries}`);
        continue;
      }

      this.rateLimit.observe(budgetKey, res.headers);
      const ok = res.status >= 200 && res.status < 300;
      let summary = ok ? undefined : this.summarize(res.body);
      const throttle = this.rateLimit.throttle(res, summary?.code);
      const action = throttle ? ({ action: 'rate_limited' } as const) : this.errorHandler.interpret(res, summary);
      // a 2xx the handler refuses (GraphQL `errors`) still gets the provider's summary in the message
      if (ok && action.action !== 'success') summary = this.summarize(res.body);
      const ctx = { method, url };
      switch (action.action) {
        case 'success':
          return res as HttpResponse<T>;
        case 'rate_limited': {
          if (throttles >= this.rateLimit.maxRetries) {
            throw this.httpError(ctx, res, summary, 'rate_limited', `; still throttled after ${throttles} waits`);
          }
          const hinted = throttle ?? { reason: String(res.status), ...this.rateLimit.waitFromHeaders(res.headers) };
          const waitMs = hinted.waitMs !== undefined && hinted.waitMs > 0 ? hinted.waitMs : hinted.header === 'retry-after' ? 0 : this.backoff.delayMs(throttles);
          if (waitMs > this.rateLimit.maxWaitMs) throw this.tooLong(what, waitMs);
          throttles += 1;
          this.stats.throttled += 1;
          await this.wait(waitMs, `${what} answered ${hinted.reason}${hinted.header ? ` (${hinted.header})` : ''}`);
          continue;
        }
        case 'refresh_token_then_retry': {
          if (!refreshed && this.opts.auth?.refresh) {
            refreshed = true;
            if (await this.opts.auth.refresh(this.authContext)) {
              this.stats.refreshed += 1;
              continue;
            }
          }
          throw this.httpError(ctx, res, summary, 'auth', refreshed ? ' (also after refreshing the credentials)' : '');
        }
        case 'retry': {
          if (errors >= this.maxRetries) throw this.httpError(ctx, res, summary, 'transient', `; gave up after ${errors} retries`);
          const hinted = this.rateLimit.waitFromHeaders(res.headers);
          const delay = hinted && hinted.waitMs > 0 ? Math.min(hinted.waitMs, this.rateLimit.maxWaitMs) : this.backoff.delayMs(errors);
          errors += 1;
          this.stats.retries += 1;
          await this.wait(delay, `${what} answered ${res.status}; retry ${errors} of ${this.maxRetries}`);
          continue;
        }
        case 'fail':
          throw this.httpError(ctx, res, summary, action.kind);
      }
    }
  }

  private guard(host: string): Promise<void> {
    const guard = this.opts.networkGuard;
    if (!guard) return Promise.resolve();
    let checked = this.guarded.get(host);
    if (!checked) {
      checked = guard.assertAllowed(host);
      this.guarded.set(host, checked);
    }
    return checked;
  }

  /** One exchange, redirects followed (each hop guarded; credentials only within the origin). */
  private async transport(req: HttpRequest, withAuth: boolean): Promise<HttpResponse<unknown>> {
    let method = (req.method ?? 'GET').toUpperCase();
    let current = this.resolve(req);
    let encoded = encodeBody(req.body);
    let authorize = withAuth && this.opts.auth !== undefined;
    const maxRedirects = this.opts.maxRedirects ?? 5;
    for (let hop = 0; ; hop++) {
      const what = describeRequest(method, current);
      await this.guard(current.hostname.replace(/^\[(.*)\]$/, '$1'));
      const headers = new Headers({ accept: 'application/json', 'user-agent': this.opts.userAgent ?? 'pip-service', ...this.opts.headers, ...req.headers });
      if (encoded.contentType && !headers.has('content-type')) headers.set('content-type', encoded.contentType);
      const target = new URL(current);
      if (authorize) await this.opts.auth!.apply(headers, target, this.authContext);
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, timeout]) : timeout;
      this.stats.requests += 1;
      let response: Response;
      let body: unknown;
      try {
        response = await this.fetchImpl(target, { method, headers, body: encoded.body, signal, redirect: 'manual' });
        const location = response.headers.get('location');
        if (REDIRECTS.has(response.status) && location) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= maxRedirects) throw new SourceError(this.source, `${what} redirected more than ${maxRedirects} times`, { kind: 'protocol' });
          const next = new URL(location, current);
          if (next.origin !== current.origin) authorize = false;
          if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
            method = 'GET';
            encoded = {};
          }
          current = next;
          continue;
        }
        body = await this.readBody(response, req.responseType ?? 'auto', what);
      } catch (err) {
        throw this.transportFailure(err, what, current, timeout);
      }
      return { status: response.status, headers: response.headers, body, url: current.toString() };
    }
  }

  private transportFailure(err: unknown, what: string, url: URL, timeout: AbortSignal): unknown {
    if (err instanceof SourceError) return new TransportFailure(err, false);
    if (this.opts.signal?.aborted) return new TransportFailure(cancelledError(this.source, this.opts.signal), false);
    if (timeout.aborted) {
      return new TransportFailure(new SourceError(this.source, `${what} got no answer within ${this.timeoutMs} ms`, { kind: 'timeout', cause: err }), true);
    }
    const code = networkCode(err);
    const classified = classifyNetworkError(this.source, { code, message: (err as Error)?.message }, url.host);
    const error = classified
      ? new SourceError(this.source, `${what}: ${classified.message.slice(this.source.length + 2)}`, { kind: classified.kind, cause: err })
      : new SourceError(this.source, `${what} failed: ${code ?? 'network error'}`, { kind: 'unreachable', cause: err });
    return new TransportFailure(error, code === undefined || RETRYABLE_NETWORK_CODES.has(code));
  }

  private async readBody(response: Response, type: 'auto' | 'json' | 'text', what: string): Promise<unknown> {
    const max = this.opts.maxBodyBytes ?? 64 * 1024 * 1024;
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel().catch(() => undefined);
          throw new SourceError(this.source, `${what} answered more than ${Math.round(max / 1048576)} MiB`, { kind: 'protocol' });
        }
        chunks.push(value);
      }
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (type === 'text') return text;
    const contentType = response.headers.get('content-type');
    const looksJson = /^\s*[[{]/.test(text);
    if (type === 'auto' && !isJsonType(contentType) && !looksJson) return text === '' ? undefined : text;
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      const ok = response.status >= 200 && response.status < 300;
      if (!ok || (type === 'auto' && !isJsonType(contentType))) return text;
      throw new SourceError(this.source, `${what} answered ${response.status} with a body that is not valid JSON`, { kind: 'protocol', detail: { status: response.status } });
    }
  }
}
