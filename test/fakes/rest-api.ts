/**
 * A JSON API of the tests' own, on 127.0.0.1: the same user records behind one endpoint per paging
 * style, an incremental filter, throttling on demand (429 with Retry-After or reset headers, and a
 * window that really stays closed until the reset), and the usual auth variants including an
 * OAuth2 client-credentials token endpoint.
 *
 *   GET /users/link        Link: <…>; rel="next"          page / per_page, array body (GitHub style)
 *   GET /users/cursor      { data, meta: { next_cursor } } cursor / limit
 *   GET /users/offset      { items, total }                offset / limit
 *   GET /users/pages       { results, page, total_pages }  page / size
 *   GET /users/next        { records, next: "<url>" }      a full next URL (opaque token)
 *   GET /users/checkpoint  { users, next }                 from / take (Auth0 style)
 *   GET /users/{id}        one user
 *   POST /oauth/token      client credentials
 * Every list takes `updated_since` (records with updated_at ≥ it) and is ordered by id.
 */
import type http from 'node:http';
import { sendJson, startHttpServer, type RecordedRequest, type TestHttpServer } from './http-server.ts';

export interface ApiUser {
  id: number;
  email: string;
  name: string;
  department: string;
  active: boolean;
  salary: number;
  updated_at: string;
  address: { city: string; country: string };
  tags: string[];
}

export type RestApiAuth =
  | { type: 'none' }
  | { type: 'api_key'; in: 'header' | 'query'; name: string; value: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'oauth2'; clientId: string; clientSecret: string; scope?: string };

export type ThrottleStyle = 'retry_after' | 'reset_epoch' | 'reset_delta' | 'retry_after_date';

export interface RestApiOptions {
  users?: number;
  auth?: RestApiAuth;
  /** throttle every Nth API request (the window then stays closed until its reset) */
  throttle?: { every: number; style: ThrottleStyle };
  /** the largest page the API serves, whatever the client asks for */
  maxPageSize?: number;
}

export interface RestApi {
  url: string;
  users: ApiUser[];
  requests: RecordedRequest[];
  /** API requests answered 429 (including early retries) */
  throttled: number;
  /** requests that arrived while the window was closed (the client did not wait long enough) */
  early: number;
  tokensIssued: number;
  options: RestApiOptions;
  /** changes these users (new name, updated_at = `at`) */
  touch(ids: number[], at: string): void;
  close(): Promise<void>;
}

const BASE_TIME = Date.parse('2026-01-01T00:00:00Z');
const DEPARTMENTS = ['Engineering', 'Sales', 'Finance', 'Support'];

export function makeUsers(n: number): ApiUser[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    email: `user${i + 1}@example.com`,
    name: `User ${i + 1}`,
    department: DEPARTMENTS[i % DEPARTMENTS.length]!,
    active: i % 7 !== 0,
    salary: 50_000 + (i % 50) * 1000,
    // a few users share each timestamp, as real data does
    updated_at: new Date(BASE_TIME + Math.floor(i / 3) * 1000).toISOString(),
    address: { city: i % 2 ? 'Oslo' : 'Lyon', country: i % 2 ? 'NO' : 'FR' },
    tags: i % 5 === 0 ? ['vip'] : [],
  }));
}

export async function startRestApi(options: RestApiOptions = {}): Promise<RestApi> {
  const api: RestApi = {
    url: '',
    users: makeUsers(options.users ?? 5000),
    requests: [],
    throttled: 0,
    early: 0,
    tokensIssued: 0,
    options,
    touch(ids, at) {
      for (const id of ids) {
        const u = api.users.find((x) => x.id === id);
        if (u) Object.assign(u, { name: `${u.name} (changed)`, updated_at: at });
      }
    },
    close: async () => undefined,
  };
  const tokens = new Set<string>();
  let apiCalls = 0;
  let closedUntil = 0;

  function authorized(req: RecordedRequest): boolean {
    const auth = options.auth ?? { type: 'none' };
    const header = req.headers.authorization;
    switch (auth.type) {
      case 'none':
        return true;
      case 'api_key':
        return auth.in === 'header' ? req.headers[auth.name.toLowerCase()] === auth.value : req.url.searchParams.get(auth.name) === auth.value;
      case 'basic':
        return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'bearer':
        return header === `Bearer ${auth.token}`;
      case 'oauth2':
        return header !== undefined && tokens.has(header.replace(/^Bearer /, ''));
    }
  }

  function token(req: RecordedRequest, res: http.ServerResponse): void {
    const auth = options.auth;
    const form = new URLSearchParams(req.body);
    if (auth?.type !== 'oauth2' || form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    if (form.get('client_id') !== auth.clientId || form.get('client_secret') !== auth.clientSecret) {
      return sendJson(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    }
    if (auth.scope && form.get('scope') !== auth.scope) return sendJson(res, 400, { error: 'invalid_scope', error_description: `scope must be ${auth.scope}` });
    const t = `tok-${++api.tokensIssued}-${Math.random().toString(36).slice(2)}`;
    tokens.add(t);
    sendJson(res, 200, { access_token: t, token_type: 'Bearer', expires_in: 3600 });
  }

  /** answers 429 when the window is closed or this is the Nth call; true when it did */
  function throttle(res: http.ServerResponse): boolean {
    const t = options.throttle;
    if (!t) return false;
    const now = Date.now();
    if (now < closedUntil) {
      api.early += 1;
      api.throttled += 1;
      sendJson(res, 429, { message: 'API rate limit exceeded (early retry)' }, throttleHeaders(t.style, closedUntil, now));
      return true;
    }
    apiCalls += 1;
    if (apiCalls % t.every !== 0) return false;
    closedUntil = t.style === 'reset_epoch' ? (Math.floor(now / 1000) + 1) * 1000 : now + 1000;
    if (t.style === 'retry_after_date') closedUntil = (Math.floor(now / 1000) + 2) * 1000;
    api.throttled += 1;
    sendJson(res, 429, { message: 'API rate limit exceeded' }, throttleHeaders(t.style, closedUntil, now));
    return true;
  }

  function throttleHeaders(style: ThrottleStyle, until: number, now: number): Record<string, string> {
    switch (style) {
      case 'retry_after':
        return { 'retry-after': String(Math.max(0, Math.ceil((until - now) / 1000))) };
      case 'retry_after_date':
        return { 'retry-after': new Date(until).toUTCString() };
      case 'reset_epoch':
        return { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(until / 1000)) };
      case 'reset_delta':
        return { 'ratelimit-reset': String(Math.max(0, Math.ceil((until - now) / 1000))) };
    }
  }

  const size = (q: URLSearchParams, name: string, fallback: number) => Math.min(Number(q.get(name) ?? fallback), options.maxPageSize ?? 1000);

  function list(q: URLSearchParams): ApiUser[] {
    const since = q.get('updated_since');
    return since ? api.users.filter((u) => u.updated_at >= since) : api.users;
  }

  function route(req: RecordedRequest, res: http.ServerResponse, server: TestHttpServer): void {
    if (req.method === 'POST' && req.url.pathname === '/oauth/token') return token(req, res);
    if (!authorized(req)) return sendJson(res, 401, { message: 'Bad credentials', errorCode: 'unauthorized' });
    if (throttle(res)) return;
    const q = req.url.searchParams;
    const users = list(q);
    const path = req.url.pathname;
    if (path === '/users/link') {
      const perPage = size(q, 'per_page', 30);
      const page = Number(q.get('page') ?? 1);
      const pages = Math.max(1, Math.ceil(users.length / perPage));
      const keep = new URLSearchParams(q);
      keep.delete('page');
      const link = (p: number, rel: string) => `<${server.url}/users/link?${keep.toString()}&page=${p}>; rel="${rel}"`;
      const links = [link(1, 'first'), link(pages, 'last'), ...(page < pages ? [link(page + 1, 'next')] : []), ...(page > 1 ? [link(page - 1, 'prev')] : [])];
      return sendJson(res, 200, users.slice((page - 1) * perPage, page * perPage), { link: links.join(', ') });
    }
    if (path === '/users/cursor') {
      const limit = size(q, 'limit', 50);
      const after = q.get('cursor') ? Number(Buffer.from(q.get('cursor')!, 'base64url').toString('utf8').split(':')[1]) : 0;
      const from = users.findIndex((u) => u.id > after);
      const slice = from < 0 ? [] : users.slice(from, from + limit);
      const more = from >= 0 && from + limit < users.length;
      const next = more ? Buffer.from(`after:${slice.at(-1)!.id}`).toString('base64url') : null;
      return sendJson(res, 200, { data: slice, meta: { next_cursor: next } });
    }
    if (path === '/users/offset') {
      const limit = size(q, 'limit', 50);
      const offset = Number(q.get('offset') ?? 0);
      return sendJson(res, 200, { items: users.slice(offset, offset + limit), total: users.length });
    }
    if (path === '/users/pages') {
      const s = size(q, 'size', 50);
      const page = Number(q.get('page') ?? 1);
      return sendJson(res, 200, { results: users.slice((page - 1) * s, page * s), page, total_pages: Math.ceil(users.length / s), total: users.length });
    }
    if (path === '/users/next') {
      const limit = size(q, 'limit', 50);
      const at = Number(q.get('token') ?? 0);
      const keep = new URLSearchParams(q);
      keep.set('token', String(at + limit));
      const next = at + limit < users.length ? `${server.url}/users/next?${keep.toString()}` : null;
      return sendJson(res, 200, { records: users.slice(at, at + limit), next });
    }
    if (path === '/users/checkpoint') {
      const take = size(q, 'take', 50);
      const from = q.get('from') ? Number(q.get('from')) : 0;
      const slice = users.filter((u) => u.id > from).slice(0, take);
      const last = slice.at(-1);
      const more = last !== undefined && users.some((u) => u.id > last.id);
      return sendJson(res, 200, { users: slice, ...(more ? { next: String(last.id) } : {}) });
    }
    const one = /^\/users\/(\d+)$/.exec(path);
    if (one) {
      const u = api.users.find((x) => x.id === Number(one[1]));
      return u ? sendJson(res, 200, u) : sendJson(res, 404, { message: 'Not Found', errorCode: 'not_found' });
    }
    return sendJson(res, 404, { message: `no route ${req.method} ${path}`, errorCode: 'not_found' });
  }

  const server = await startHttpServer((req, res) => route(req, res, server));
  api.url = server.url;
  api.requests = server.requests;
  api.close = () => server.close();
  return api;
}
