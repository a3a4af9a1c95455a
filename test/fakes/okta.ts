/**
 * A fake Okta org on 127.0.0.1 that follows the documented Management API closely enough to test
 * a connector against it:
 *
 * - users (`/api/v1/users`, `/users/{id}`, `/users/{id}/groups`), groups (`/api/v1/groups`,
 *   `/groups/{id}`, `/groups/{id}/users`) and the user schema (`/api/v1/meta/schemas/user/default`);
 * - paging with opaque `after` cursors in `Link: <…>; rel="next"` headers, `limit` capped at 200;
 * - `filter` expressions (`lastUpdated gt "…"`, `lastMembershipUpdated gt "…"`, `status eq "…"`,
 *   joined with `and` / `or`); without a filter, DEPROVISIONED users are not listed (as documented);
 * - per-endpoint rate limits with X-Rate-Limit-Limit / -Remaining / -Reset (epoch seconds) on
 *   every answer and 429 E0000047 when a window is spent; 429s can be injected (they spend the
 *   window, so the headers stay consistent);
 * - Okta error bodies (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`);
 * - SSWS API tokens and OAuth access tokens with scopes (403 E0000006 + `WWW-Authenticate`
 *   insufficient_scope when one is missing), and the org authorization server (okta-oauth.ts);
 * - event hook deliveries and the one-time verification request, sent to a URL the test gives;
 * - a call log (time, path, bucket, query, status, remaining, reset) the tests inspect.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeOktaAuthorizationServer } from './okta-oauth.ts';

export interface OktaUser {
  id: string;
  status: string;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  type: { id: string };
  profile: Record<string, unknown> & { login: string; email: string; firstName: string; lastName: string };
}

export interface OktaGroup {
  id: string;
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  objectClass: string[];
  type: 'OKTA_GROUP' | 'APP_GROUP' | 'BUILT_IN';
  profile: { name: string; description: string | null };
}

export interface OktaCall {
  at: number;
  method: string;
  path: string;
  /** the rate-limit bucket (endpoint with ids replaced), e.g. `/api/v1/groups/{id}/users` */
  bucket: string;
  query: Record<string, string>;
  status: number;
  errorCode?: string;
  limit?: number;
  remaining?: number;
  /** X-Rate-Limit-Reset: epoch seconds */
  reset?: number;
  injected?: boolean;
  auth: 'ssws' | 'bearer' | 'none' | 'other';
}

export interface FakeOktaOptions {
  /** the SSWS API token the org accepts */
  apiToken?: string;
  /** calls per window per endpoint bucket (default 600), and per-bucket overrides */
  rateLimit?: { limit?: number; windowMs?: number; buckets?: Record<string, number> };
  /** custom attributes of the user schema: name → JSON schema type */
  customAttributes?: Record<string, { type: 'string' | 'integer' | 'number' | 'boolean' | 'array'; title?: string }>;
}

export interface EventHookEvent {
  uuid?: string;
  eventType: string;
  target: Array<{ id: string; type: 'User' | 'UserGroup'; alternateId?: string; displayName?: string }>;
}

const MAX_LIMIT = 200;
const BASE_ATTRIBUTES = ['login', 'email', 'firstName', 'lastName', 'displayName', 'nickName', 'secondEmail', 'mobilePhone', 'title', 'department', 'organization', 'division', 'costCenter', 'employeeNumber', 'userType', 'managerId', 'manager', 'preferredLanguage', 'locale', 'timezone', 'city', 'state', 'countryCode'];

/** Okta's per-endpoint rate-limit buckets: the path with ids replaced */
export function oktaBucket(path: string): string {
  return path
    .replace(/^\/api\/v1\/users\/[^/]+(\/groups)?$/, (_m, g: string | undefined) => `/api/v1/users/{id}${g ?? ''}`)
    .replace(/^\/api\/v1\/groups\/[^/]+(\/users)?$/, (_m, u: string | undefined) => `/api/v1/groups/{id}${u ?? ''}`);
}

const iso = (ms: number) => new Date(ms).toISOString();

type Term = { attr: string; op: 'eq' | 'gt' | 'ge' | 'lt' | 'le'; value: string };

/** `a gt "x" and b eq "y" or c eq "z"`: `and` binds tighter than `or`, no parentheses */
function parseFilter(expr: string): Term[][] | undefined {
  const groups: Term[][] = [];
  for (const part of expr.split(/\s+or\s+/i)) {
    const terms: Term[] = [];
    for (const t of part.split(/\s+and\s+/i)) {
      const m = /^\s*([A-Za-z.]+)\s+(eq|gt|ge|lt|le)\s+"([^"]*)"\s*$/i.exec(t);
      if (!m) return undefined;
      terms.push({ attr: m[1]!, op: m[2]!.toLowerCase() as Term['op'], value: m[3]! });
    }
    groups.push(terms);
  }
  return groups;
}

function matches(obj: Record<string, unknown>, filter: Term[][]): boolean {
  const get = (path: string) => path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
  return filter.some((terms) =>
    terms.every(({ attr, op, value }) => {
      const v = get(attr);
      if (v === undefined || v === null) return false;
      const s = String(v);
      const cmp = attr === 'lastUpdated' || attr === 'lastMembershipUpdated' || attr === 'created' ? Date.parse(s) - Date.parse(value) : s.localeCompare(value);
      return op === 'eq' ? s === value : op === 'gt' ? cmp > 0 : op === 'ge' ? cmp >= 0 : op === 'lt' ? cmp < 0 : cmp <= 0;
    }),
  );
}

export class FakeOkta {
  url = '';
  readonly users = new Map<string, OktaUser>();
  readonly groups = new Map<string, OktaGroup>();
  /** group id → member user ids */
  readonly members = new Map<string, Set<string>>();
  readonly calls: OktaCall[] = [];
  readonly oauth: FakeOktaAuthorizationServer;
  apiToken: string;
  /** buckets the SSWS token's admin role may not read (403 E0000006) */
  readonly apiTokenDenied = new Set<string>();
  private server?: http.Server;
  private userSeq = 0;
  private groupSeq = 0;
  private lastStamp = 0;
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly injections: Array<{ bucket?: string; remaining: number; every?: number; seen: number; atCalls?: Set<number> }> = [];
  private sortedUsers: string[] | undefined;

  constructor(private readonly opts: FakeOktaOptions = {}) {
    this.apiToken = opts.apiToken ?? 'ssws-test-token-00000000000000000000';
    this.oauth = new FakeOktaAuthorizationServer(() => this.url);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((err: unknown) => {
          if (!res.headersSent) this.send(res, 500, { errorCode: 'E0000009', errorSummary: `Internal Server Error (${String(err)})`, errorLink: 'E0000009', errorId: this.errorId(), errorCauses: [] });
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** a timestamp strictly after every earlier one (Okta's lastUpdated moves on every change) */
  stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return iso(this.lastStamp);
  }

  // ---- data -------------------------------------------------------------------------------

  addUser(p: { login?: string; firstName?: string; lastName?: string; status?: string; profile?: Record<string, unknown>; lastUpdated?: string } = {}): OktaUser {
    const n = ++this.userSeq;
    const id = `00u${n.toString(36).padStart(17, '0')}`;
    const login = p.login ?? `user${n}@example.com`;
    const at = p.lastUpdated ?? this.stamp();
    const user: OktaUser = {
      id,
      status: p.status ?? 'ACTIVE',
      created: at,
      activated: at,
      statusChanged: at,
      lastLogin: null,
      lastUpdated: at,
      passwordChanged: null,
      type: { id: 'oty00000000000000001' },
      profile: { login, email: login, firstName: p.firstName ?? `First${n}`, lastName: p.lastName ?? `Last${n}`, ...p.profile },
    };
    this.users.set(id, user);
    this.sortedUsers = undefined;
    return user;
  }

  updateUser(id: string, profile: Record<string, unknown>): OktaUser {
    const u = this.users.get(id)!;
    Object.assign(u.profile, profile);
    u.lastUpdated = this.stamp();
    return u;
  }

  /** ACTIVE, SUSPENDED, DEPROVISIONED (deactivated), … */
  setUserStatus(id: string, status: string): OktaUser {
    const u = this.users.get(id)!;
    u.status = status;
    u.statusChanged = u.lastUpdated = this.stamp();
    return u;
  }

  /** deletes a user (Okta deletes only deactivated users; memberships go with it) */
  deleteUser(id: string): void {
    this.users.delete(id);
    this.sortedUsers = undefined;
    for (const [gid, set] of this.members) if (set.delete(id)) this.groups.get(gid)!.lastMembershipUpdated = this.stamp();
  }

  addGroup(p: { name?: string; description?: string; type?: OktaGroup['type']; lastUpdated?: string } = {}): OktaGroup {
    const n = ++this.groupSeq;
    const at = p.lastUpdated ?? this.stamp();
    const g: OktaGroup = { id: `00g${n.toString(36).padStart(17, '0')}`, created: at, lastUpdated: at, lastMembershipUpdated: at, objectClass: ['okta:user_group'], type: p.type ?? 'OKTA_GROUP', profile: { name: p.name ?? `Group ${n}`, description: p.description ?? null } };
    this.groups.set(g.id, g);
    this.members.set(g.id, new Set());
    return g;
  }

  updateGroup(id: string, profile: Partial<OktaGroup['profile']>): OktaGroup {
    const g = this.groups.get(id)!;
    Object.assign(g.profile, profile);
    g.lastUpdated = this.stamp();
    return g;
  }

  addMember(groupId: string, userId: string, at?: string): void {
    this.members.get(groupId)!.add(userId);
    this.groups.get(groupId)!.lastMembershipUpdated = at ?? this.stamp();
  }

  removeMember(groupId: string, userId: string): void {
    this.members.get(groupId)!.delete(userId);
    this.groups.get(groupId)!.lastMembershipUpdated = this.stamp();
  }

  /**
   * `users` users and `groups` groups, user i in groups i mod groups and (i·7) mod groups; all
   * timestamps in the past (so a later change is the only thing newer).
   */
  seed(p: { users: number; groups: number; base?: string }): void {
    const base = Date.parse(p.base ?? '2025-01-01T00:00:00.000Z');
    const groups = Array.from({ length: p.groups }, (_, i) => this.addGroup({ name: `Group ${i + 1}`, description: i % 3 === 0 ? `Team ${i + 1}` : undefined, lastUpdated: iso(base + i) }));
    for (let i = 0; i < p.users; i++) {
      const u = this.addUser({ lastUpdated: iso(base + 1000 + i), profile: { department: `Dept ${i % 17}`, title: i % 5 === 0 ? 'Engineer' : 'Analyst', employeeNumber: String(100000 + i) } });
      if (groups.length) {
        const at = iso(base + 2_000_000);
        this.addMember(groups[i % groups.length]!.id, u.id, at);
        this.addMember(groups[(i * 7) % groups.length]!.id, u.id, at);
      }
    }
  }

  /** every access token now answers 401 E0000011 */
  revokeAccessTokens(): void {
    this.oauth.revokeAccessTokens();
  }

  // ---- faults -----------------------------------------------------------------------------

  /**
   * Injected 429s on a bucket (all when omitted): at the given 1-based call numbers of that
   * bucket, or every `every`-th call. Each spends the bucket's current window.
   */
  inject429(p: { bucket?: string; atCalls?: number[]; every?: number }): void {
    this.injections.push({ bucket: p.bucket, remaining: Infinity, every: p.every, seen: 0, atCalls: p.atCalls ? new Set(p.atCalls) : undefined });
  }

  clearFaults(): void {
    this.injections.length = 0;
  }

  resetCalls(): void {
    this.calls.length = 0;
    this.oauth.tokenCalls.length = 0;
  }

  // ---- event hooks ------------------------------------------------------------------------

  /** the one-time verification request Okta sends when an event hook is registered */
  async verifyEventHook(url: string, challenge = crypto.randomBytes(16).toString('base64url'), headers: Record<string, string> = {}): Promise<{ status: number; body: string; challenge: string; contentType: string | null }> {
    const res = await fetch(url, { method: 'GET', headers: { 'x-okta-verification-challenge': challenge, ...headers } });
    return { status: res.status, body: await res.text(), challenge, contentType: res.headers.get('content-type') };
  }

  /** an event hook delivery (one request carrying `events`), authenticated with the configured header */
  eventHookPayload(events: EventHookEvent[], eventId = crypto.randomUUID()): { payload: Record<string, unknown>; uuids: string[] } {
    const uuids = events.map((e) => e.uuid ?? crypto.randomUUID());
    const published = iso(Date.now());
    return {
      uuids,
      payload: {
        eventType: 'com.okta.event_hook',
        eventTypeVersion: '1.0',
        cloudEventsVersion: '0.1',
        source: `${this.url}/api/v1/eventHooks/who00000000000000001`,
        eventId,
        data: {
          events: events.map((e, i) => ({
            uuid: uuids[i],
            published,
            eventType: e.eventType,
            version: '0',
            displayMessage: e.eventType,
            severity: 'INFO',
            actor: { id: '00u00000000000000admin', type: 'User', alternateId: 'admin@example.com', displayName: 'Admin' },
            target: e.target.map((t) => ({ alternateId: t.alternateId ?? t.id, displayName: t.displayName ?? t.id, detailEntry: null, ...t })),
          })),
        },
        eventTime: published,
        contentType: 'application/json',
      },
    };
  }

  async deliverEvents(url: string, events: EventHookEvent[], auth: { header: string; secret: string } | undefined, opts: { payload?: Record<string, unknown> } = {}): Promise<{ status: number; body: any; uuids: string[]; payload: Record<string, unknown> }> {
    const built = opts.payload ? { payload: opts.payload, uuids: [] } : this.eventHookPayload(events);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(auth ? { [auth.header]: auth.secret } : {}) },
      body: JSON.stringify(built.payload),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, uuids: built.uuids, payload: built.payload };
  }

  userEvent(eventType: string, user: Pick<OktaUser, 'id'> & { profile?: { login?: string } }): EventHookEvent {
    return { eventType, target: [{ id: user.id, type: 'User', alternateId: user.profile?.login }] };
  }

  membershipEvent(eventType: 'group.user_membership.add' | 'group.user_membership.remove', userId: string, groupId: string): EventHookEvent {
    return { eventType, target: [{ id: userId, type: 'User' }, { id: groupId, type: 'UserGroup' }] };
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private errorId(): string {
    return `oae${crypto.randomBytes(11).toString('base64url')}`;
  }

  private error(code: string, summary: string, causes: string[] = []) {
    return { errorCode: code, errorSummary: summary, errorLink: code, errorId: this.errorId(), errorCauses: causes.map((errorSummary) => ({ errorSummary })) };
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' && headers['content-type'] ? String(headers['content-type']) : 'application/json', 'content-length': Buffer.byteLength(text), 'x-okta-request-id': crypto.randomBytes(8).toString('hex'), ...headers });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, raw: Buffer, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/oauth2/v1/authorize' && req.method === 'GET') {
      const r = this.oauth.authorize(url.searchParams);
      return this.send(res, r.status, r.body ?? '', r.headers ?? {});
    }
    if (path === '/oauth2/v1/token' && req.method === 'POST') {
      const r = await this.oauth.token(new URLSearchParams(raw.toString('utf8')), req.headers.authorization);
      return this.send(res, r.status, r.body ?? {}, r.headers ?? {});
    }
    if (!path.startsWith('/api/v1/')) return this.send(res, 404, this.error('E0000022', 'The endpoint does not support the provided HTTP method'));
    return this.api(req, url, path, res);
  }

  private authOf(header: string | undefined): OktaCall['auth'] {
    if (!header) return 'none';
    if (header.startsWith('SSWS ')) return 'ssws';
    if (header.startsWith('Bearer ')) return 'bearer';
    return 'other';
  }

  private requiredScope(bucket: string): string {
    if (bucket.startsWith('/api/v1/meta/schemas')) return 'okta.schemas.read';
    if (bucket.startsWith('/api/v1/groups')) return 'okta.groups.read';
    return 'okta.users.read';
  }

  private async api(req: http.IncomingMessage, url: URL, path: string, res: http.ServerResponse): Promise<void> {
    const bucket = oktaBucket(path);
    const call: OktaCall = { at: Date.now(), method: req.method ?? 'GET', path, bucket, query: Object.fromEntries(url.searchParams), status: 0, auth: this.authOf(req.headers.authorization) };
    this.calls.push(call);
    const reply = (status: number, body: unknown, headers: Record<string, string | number> = {}) => {
      call.status = status;
      if (status >= 400 && body && typeof body === 'object') call.errorCode = (body as { errorCode?: string }).errorCode;
      this.send(res, status, body, headers);
    };

    // authentication first (Okta answers 401 before counting against the limit)
    const authz = req.headers.authorization ?? '';
    let scopes: string[] | undefined;
    if (authz.startsWith('SSWS ')) {
      const given = Buffer.from(authz.slice(5));
      const want = Buffer.from(this.apiToken);
      if (given.length !== want.length || !crypto.timingSafeEqual(given, want)) return reply(401, this.error('E0000011', 'Invalid token provided'));
    } else if (authz.startsWith('Bearer ')) {
      const t = this.oauth.accessTokens.get(authz.slice(7));
      if (!t || t.revoked || t.expiresAt <= Date.now()) return reply(401, this.error('E0000011', 'Invalid token provided'), { 'www-authenticate': 'Bearer authorization_uri="", realm="IdpMyAccountAPI", error="invalid_token", error_description="The token is not valid."' });
      scopes = t.scopes;
    } else {
      return reply(401, this.error('E0000005', 'Invalid session'));
    }

    // rate limit of the bucket
    const limit = this.opts.rateLimit?.buckets?.[bucket] ?? this.opts.rateLimit?.limit ?? 600;
    const windowMs = this.opts.rateLimit?.windowMs ?? 60_000;
    const now = Date.now();
    let w = this.windows.get(bucket);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(bucket, w);
    }
    const injected = this.takeInjection(bucket);
    if (injected) w.count = limit;
    const reset = Math.ceil(w.resetAt / 1000);
    if (w.count >= limit) {
      Object.assign(call, { limit, remaining: 0, reset, injected });
      return reply(429, this.error('E0000047', 'API call exceeded rate limit due to too many requests.'), { 'x-rate-limit-limit': limit, 'x-rate-limit-remaining': 0, 'x-rate-limit-reset': reset });
    }
    w.count += 1;
    const rl = { 'x-rate-limit-limit': limit, 'x-rate-limit-remaining': limit - w.count, 'x-rate-limit-reset': reset };
    Object.assign(call, { limit, remaining: limit - w.count, reset });

    if (req.method !== 'GET') return reply(405, this.error('E0000022', 'The endpoint does not support the provided HTTP method'), rl);
    const scope = this.requiredScope(bucket);
    if (scopes && !scopes.includes(scope)) {
      return reply(403, this.error('E0000006', 'You do not have permission to perform the requested action'), {
        ...rl,
        'www-authenticate': `Bearer authorization_uri="${this.url}/oauth2/v1/authorize", realm="IdpMyAccountAPI", scope="${scope}", error="insufficient_scope", error_description="The access token provided does not contain the required scopes."`,
      });
    }
    if (!scopes && this.apiTokenDenied.has(bucket)) return reply(403, this.error('E0000006', 'You do not have permission to perform the requested action'), rl);

    const q = url.searchParams;
    /** one page of `ids` (sorted) after the cursor, filtered, with its Link header */
    const page = <T extends { id: string }>(ids: string[], lookup: (id: string) => T | undefined, kind: string, filter: Term[][] | undefined, extraQuery: Record<string, string> = {}) => {
      const requested = Number(q.get('limit') ?? MAX_LIMIT);
      const lim = Math.max(1, Math.min(MAX_LIMIT, Number.isFinite(requested) ? requested : MAX_LIMIT));
      const after = q.get('after');
      let afterId: string | undefined;
      if (after) {
        try {
          const decoded = Buffer.from(after, 'base64url').toString('utf8');
          if (!decoded.startsWith(`${kind}:`)) throw new Error('kind');
          afterId = decoded.slice(kind.length + 1);
        } catch {
          return undefined;
        }
      }
      const out: T[] = [];
      let more = false;
      const list = ids;
      let start = 0;
      if (afterId !== undefined) {
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]! <= afterId) lo = mid + 1;
          else hi = mid;
        }
        start = lo;
      }
      for (let i = start; i < list.length; i++) {
        const item = lookup(list[i]!);
        if (!item || (filter && !matches(item as unknown as Record<string, unknown>, filter))) continue;
        if (out.length === lim) {
          more = true;
          break;
        }
        out.push(item);
      }
      const self = new URL(url.pathname, this.url);
      for (const [k, v] of Object.entries({ ...extraQuery, limit: String(lim) })) self.searchParams.set(k, v);
      const links = [`<${self.toString()}>; rel="self"`];
      if (more) {
        const next = new URL(self);
        next.searchParams.set('after', Buffer.from(`${kind}:${out[out.length - 1]!.id}`).toString('base64url'));
        links.push(`<${next.toString()}>; rel="next"`);
      }
      return { out, link: links.join(', ') };
    };

    const filterParam = q.get('filter');
    const filter = filterParam !== null ? parseFilter(filterParam) : undefined;
    if (filterParam !== null && !filter) return reply(400, this.error('E0000031', 'Invalid search criteria.', [`filter: ${filterParam}`]), rl);
    const extra: Record<string, string> = filterParam !== null ? { filter: filterParam } : {};

    let m: RegExpExecArray | null;
    if (path === '/api/v1/users') {
      this.sortedUsers ??= [...this.users.keys()].sort();
      // by default (no filter) DEPROVISIONED users are not listed
      const visible = (id: string) => {
        const u = this.users.get(id);
        return u && (filter !== undefined || u.status !== 'DEPROVISIONED') ? u : undefined;
      };
      const p = page(this.sortedUsers, visible, 'users', filter, extra);
      if (!p) return reply(400, this.error('E0000031', 'Invalid search criteria.', ['after: the cursor is invalid']), rl);
      return reply(200, p.out.map((u) => this.userJson(u)), { ...rl, link: p.link });
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(path))) {
      const u = this.findUser(decodeURIComponent(m[1]!));
      if (!u) return reply(404, this.error('E0000007', `Not found: Resource not found: ${m[1]} (User)`), rl);
      const groups = [...this.members.entries()].filter(([, set]) => set.has(u.id)).map(([gid]) => this.groupJson(this.groups.get(gid)!));
      return reply(200, groups, rl);
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)$/.exec(path))) {
      const u = this.findUser(decodeURIComponent(m[1]!));
      if (!u) return reply(404, this.error('E0000007', `Not found: Resource not found: ${m[1]} (User)`), rl);
      return reply(200, this.userJson(u), rl);
    }
    if (path === '/api/v1/groups') {
      const p = page([...this.groups.keys()].sort(), (id) => this.groups.get(id), 'groups', filter, extra);
      if (!p) return reply(400, this.error('E0000031', 'Invalid search criteria.', ['after: the cursor is invalid']), rl);
      return reply(200, p.out.map((g) => this.groupJson(g)), { ...rl, link: p.link });
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(path))) {
      const set = this.members.get(m[1]!);
      if (!set) return reply(404, this.error('E0000007', `Not found: Resource not found: ${m[1]} (UserGroup)`), rl);
      const p = page([...set].sort(), (id) => this.users.get(id), `members.${m[1]}`, undefined);
      if (!p) return reply(400, this.error('E0000031', 'Invalid search criteria.', ['after: the cursor is invalid']), rl);
      return reply(200, p.out.map((u) => this.userJson(u)), { ...rl, link: p.link });
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)$/.exec(path))) {
      const g = this.groups.get(m[1]!);
      if (!g) return reply(404, this.error('E0000007', `Not found: Resource not found: ${m[1]} (UserGroup)`), rl);
      return reply(200, this.groupJson(g), rl);
    }
    if (path === '/api/v1/meta/schemas/user/default') return reply(200, this.schemaJson(), rl);
    return reply(404, this.error('E0000022', 'The endpoint does not support the provided HTTP method'), rl);
  }

  private takeInjection(bucket: string): boolean {
    for (const inj of this.injections) {
      if (inj.bucket !== undefined && inj.bucket !== bucket) continue;
      inj.seen += 1;
      if (inj.atCalls?.has(inj.seen) || (inj.every !== undefined && inj.seen % inj.every === 0)) return true;
    }
    return false;
  }

  private findUser(idOrLogin: string): OktaUser | undefined {
    const byId = this.users.get(idOrLogin);
    if (byId) return byId;
    for (const u of this.users.values()) if (u.profile.login === idOrLogin) return u;
    return undefined;
  }

  private userJson(u: OktaUser) {
    return { ...u, profile: { ...u.profile }, credentials: { provider: { type: 'OKTA', name: 'OKTA' } }, _links: { self: { href: `${this.url}/api/v1/users/${u.id}` } } };
  }

  private groupJson(g: OktaGroup) {
    return { ...g, profile: { ...g.profile }, _links: { users: { href: `${this.url}/api/v1/groups/${g.id}/users` }, apps: { href: `${this.url}/api/v1/groups/${g.id}/apps` } } };
  }

  private schemaJson() {
    const base = Object.fromEntries(BASE_ATTRIBUTES.map((a) => [a, { title: a, type: 'string', mutability: 'READ_WRITE', scope: 'NONE', permissions: [{ principal: 'SELF', action: 'READ_WRITE' }] }]));
    const custom = Object.fromEntries(Object.entries(this.opts.customAttributes ?? {}).map(([name, a]) => [name, { title: a.title ?? name, type: a.type, mutability: 'READ_WRITE', scope: 'NONE', permissions: [{ principal: 'SELF', action: 'READ_ONLY' }] }]));
    return {
      id: `${this.url}/meta/schemas/user/default`,
      $schema: 'http://json-schema.org/draft-04/schema#',
      name: 'user',
      title: 'User',
      lastUpdated: iso(Date.now()),
      created: iso(0),
      definitions: {
        base: { id: '#base', type: 'object', properties: base, required: ['login', 'firstName', 'lastName', 'email'] },
        custom: { id: '#custom', type: 'object', properties: custom, required: [] },
      },
      type: 'object',
      properties: { profile: { allOf: [{ $ref: '#/definitions/custom' }, { $ref: '#/definitions/base' }] } },
    };
  }
}

export async function startFakeOkta(opts: FakeOktaOptions = {}): Promise<FakeOkta> {
  return new FakeOkta(opts).start();
}
