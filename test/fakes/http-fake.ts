/**
 * The provider-fake skeleton the Graph, Auth0 and Google Directory fakes share, on top of the
 * plain test server (http-server.ts, 127.0.0.1): routes by method and path pattern, a call log,
 * and faults injected on demand (the next N matching requests, or every Nth one, answer a canned
 * throttle or error). Providers describe only their documented behaviour on top of this.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { startHttpServer, type RecordedRequest, type TestHttpServer } from './http-server.ts';

export interface FakeRequest {
  method: string;
  url: URL;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** the body parsed as JSON (undefined when empty or not JSON) */
  json<T = any>(): T | undefined;
  /** the body parsed as application/x-www-form-urlencoded */
  form(): URLSearchParams;
  header(name: string): string | undefined;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** objects and arrays are sent as JSON; strings and buffers as they are */
  body?: unknown;
}

export type FakeHandler = (req: FakeRequest, params: string[]) => FakeReply | Promise<FakeReply>;

export interface FakeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** the Authorization header's scheme and whether a credential came with it (never the value) */
  auth: string | undefined;
  /** true when an injected fault answered */
  injected: boolean;
}

export interface FaultRule {
  /** which requests the fault may answer (default: every request) */
  match?: (req: FakeRequest) => boolean;
  /** answer the next `times` matching requests (default 1) … */
  times?: number;
  /** … or every `every`-th matching request, for as long as the rule stays */
  every?: number;
  reply: FakeReply | ((req: FakeRequest) => FakeReply);
}

interface Route {
  method: string;
  pattern: RegExp;
  handler: FakeHandler;
}

interface ActiveFault extends FaultRule {
  seen: number;
  left: number;
}

const MAX_CALLS_KEPT = 50_000;

export class HttpFake {
  readonly calls: FakeCall[] = [];
  private readonly routes: Route[] = [];
  private faults: ActiveFault[] = [];
  private server?: TestHttpServer;
  origin = '';

  constructor(private readonly name: string) {}

  route(method: string, pattern: RegExp, handler: FakeHandler): this {
    this.routes.push({ method: method.toUpperCase(), pattern, handler });
    return this;
  }

  /** injects a fault; returns a function that removes it */
  inject(rule: FaultRule): () => void {
    const fault: ActiveFault = { ...rule, seen: 0, left: rule.times ?? (rule.every ? Number.POSITIVE_INFINITY : 1) };
    this.faults.push(fault);
    return () => {
      this.faults = this.faults.filter((f) => f !== fault);
    };
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** calls whose path matches, in order */
  callsTo(path: RegExp, method?: string): FakeCall[] {
    return this.calls.filter((c) => path.test(c.path) && (method === undefined || c.method === method.toUpperCase()));
  }

  async start(): Promise<this> {
    this.server = await startHttpServer((req, res) => this.dispatch(req, res));
    this.origin = this.server.url;
    return this;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private fault(req: FakeRequest): FakeReply | undefined {
    for (const f of this.faults) {
      if (f.left <= 0 || (f.match && !f.match(req))) continue;
      f.seen += 1;
      if (f.every && f.seen % f.every !== 0) continue;
      f.left -= 1;
      return typeof f.reply === 'function' ? f.reply(req) : f.reply;
    }
    return undefined;
  }

  private async dispatch(req: RecordedRequest, res: http.ServerResponse): Promise<void> {
    // the plain server keeps every request with its body; a fake keeps its own bounded call log
    this.server?.requests.splice(0);
    const rawBody = Buffer.from(req.body, 'utf8');
    const url = req.url;
    const request: FakeRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url,
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      json: () => {
        if (rawBody.length === 0) return undefined;
        try {
          return JSON.parse(rawBody.toString('utf8'));
        } catch {
          return undefined;
        }
      },
      form: () => new URLSearchParams(rawBody.toString('utf8')),
      header: (name) => {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
    };
    let reply: FakeReply;
    let injected = false;
    try {
      const fault = this.fault(request);
      if (fault) {
        reply = fault;
        injected = true;
      } else {
        reply = await this.handle(request);
      }
    } catch (err) {
      reply = { status: 500, body: { error: `${this.name} fake failed: ${(err as Error).message}` } };
    }
    const authorization = request.header('authorization');
    if (this.calls.length < MAX_CALLS_KEPT) {
      this.calls.push({
        method: request.method,
        path: request.path,
        query: Object.fromEntries(url.searchParams),
        status: reply.status,
        auth: authorization ? authorization.split(' ')[0] : undefined,
        injected,
      });
    }
    send(res, reply);
  }

  private async handle(req: FakeRequest): Promise<FakeReply> {
    for (const r of this.routes) {
      if (r.method !== req.method) continue;
      const m = r.pattern.exec(req.path);
      if (m) return r.handler(req, m.slice(1));
    }
    return { status: 404, body: { error: `${this.name} fake: no route for ${req.method} ${req.path}` } };
  }
}

function send(res: http.ServerResponse, reply: FakeReply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: Buffer | undefined;
  if (reply.body === undefined) payload = undefined;
  else if (Buffer.isBuffer(reply.body)) payload = reply.body;
  else if (typeof reply.body === 'string') payload = Buffer.from(reply.body, 'utf8');
  else {
    payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json; charset=utf-8';
  }
  if (payload) headers['content-length'] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** the bearer token of a request, if any */
export function bearerToken(req: FakeRequest): string | undefined {
  const h = req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m?.[1];
}

/** a POST the fake sends to a subscriber (validation handshakes, notifications), as the provider would */
export async function deliver(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; contentType: string | null; body: string }> {
  const res = await fetch(url, { method: init.method ?? 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** opaque page tokens: base64url JSON, as opaque to clients as the providers' own */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeToken<T>(token: string | null | undefined): T | undefined {
  if (!token) return undefined;
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export interface IssuedToken {
  token: string;
  expiresAt: number;
  /** what the token grants: OAuth scopes, or Graph application roles */
  grants: string[];
  subject?: string;
}

/** access tokens a fake's token endpoint issued, checked on every data request */
export class FakeTokens {
  private readonly tokens = new Map<string, IssuedToken>();
  issuedCount = 0;

  issue(grants: string[], ttlSeconds: number, subject?: string): IssuedToken {
    const token = `fake-at-${crypto.randomUUID()}`;
    const t = { token, expiresAt: Date.now() + ttlSeconds * 1000, grants, subject };
    this.tokens.set(token, t);
    this.issuedCount += 1;
    return t;
  }

  /** the token a request carries when it is known and not expired */
  check(req: FakeRequest): IssuedToken | undefined {
    const t = this.tokens.get(bearerToken(req) ?? '');
    return t && t.expiresAt > Date.now() ? t : undefined;
  }

  /** every issued token stops working (clients must fetch new ones) */
  expireAll(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }
}
