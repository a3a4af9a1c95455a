/**
 * A fake Auth0 tenant (Authentication API token endpoint + Management API v2), following the
 * documented behaviour:
 *
 *  - `POST /oauth/token` client credentials with `audience = https://{domain}/api/v2/` (JSON or
 *    form body); the token carries the scopes of the client grant
 *  - `GET /api/v2/users` with `page`/`per_page` (≤ 100)/`include_totals`, refusing to page past the
 *    first 1,000 results (400 `invalid_paging`); without include_totals list routes answer a bare array
 *  - the users export job: `POST /api/v2/jobs/users-exports` → `GET /api/v2/jobs/{id}` (pending,
 *    processing, completed + `location`) → a pre-signed download of gzipped NDJSON that refuses
 *    requests carrying an Authorization header (as a pre-signed S3 URL does)
 *  - roles (page based) and role members (`from`/`take` checkpoints with `next`), organizations and
 *    their members (checkpoints), a user's roles and organizations, `GET /api/v2/users/{id}`
 *  - `x-ratelimit-limit/remaining/reset` on every answer and 429 when the bucket is empty
 *  - log events for directory changes (`ss`, `sapi`, `sdu`), delivered like a Custom Webhook log
 *    stream: POST of a JSON array of `{ log_id, data }` with the configured Authorization value
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { deliver, FakeTokens, HttpFake, type FakeReply, type FakeRequest } from './http-fake.ts';

export const AUTH0_READ_SCOPES = ['read:users', 'read:roles', 'read:role_members', 'read:organizations', 'read:organization_members'];
const PAGING_CAP = 1000;

export type Auth0User = Record<string, unknown> & { user_id: string; email?: string };
export interface Auth0Role {
  id: string;
  name: string;
  description?: string;
}
export interface Auth0Org {
  id: string;
  name: string;
  display_name?: string;
  metadata?: Record<string, string>;
}
export interface Auth0LogEvent {
  log_id: string;
  data: Record<string, unknown>;
}

export interface Auth0FakeOptions {
  /** the tenant's canonical domain (the audience is https://{domain}/api/v2/) */
  domain?: string;
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  /** requests per window before 429 (default: no limit) */
  rateLimit?: { limit: number; windowSeconds: number };
  /** how many polls of an export job answer pending/processing before it completes */
  exportPolls?: number;
}

interface ExportJob {
  id: string;
  status: 'pending' | 'processing' | 'completed' | 'failed';
  polls: number;
  fields: Array<{ name: string; export_as?: string }>;
  connection_id?: string;
  created_at: string;
  file?: string;
}

const mgmtError = (statusCode: number, error: string, message: string, errorCode?: string): FakeReply => ({ status: statusCode, body: { statusCode, error, message, ...(errorCode ? { errorCode } : {}) } });

export class Auth0Fake {
  readonly http = new HttpFake('auth0');
  readonly domain: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokens = new FakeTokens();
  readonly users = new Map<string, Auth0User>();
  readonly roles = new Map<string, Auth0Role>();
  readonly roleMembers = new Map<string, Set<string>>();
  readonly organizations = new Map<string, Auth0Org>();
  readonly orgMembers = new Map<string, Set<string>>();
  readonly jobs = new Map<string, ExportJob>();
  readonly files = new Map<string, Buffer>();
  readonly deliveries: Array<{ status: number; body: string }> = [];
  scopes: string[];
  private pendingLogs: Auth0LogEvent[] = [];
  private bucket = { remaining: 0, resetAt: 0 };

  constructor(private readonly opts: Auth0FakeOptions = {}) {
    this.domain = opts.domain ?? 'acme.eu.auth0.com';
    this.clientId = opts.clientId ?? crypto.randomBytes(16).toString('base64url');
    this.clientSecret = opts.clientSecret ?? crypto.randomBytes(32).toString('base64url');
    this.scopes = opts.scopes ?? [...AUTH0_READ_SCOPES];
    this.routes();
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  get origin(): string {
    return this.http.origin;
  }

  get audience(): string {
    return `https://${this.domain}/api/v2/`;
  }

  // ---------------------------------------------------------------- tenant changes (with their log events)

  private log(type: string, data: Record<string, unknown>): void {
    const log_id = `9002${crypto.randomBytes(24).toString('hex')}`;
    this.pendingLogs.push({ log_id, data: { date: new Date().toISOString(), type, log_id, tenant_name: this.domain.split('.')[0], ip: '203.0.113.7', ...data } });
  }

  private apiLog(method: string, path: string, description: string, body: unknown = {}): void {
    this.log('sapi', {
      description,
      client_id: 'dashboard',
      client_name: '',
      details: { request: { method, path, query: {}, body, channel: 'https://manage.auth0.com/', auth: { strategy: 'jwt', user: { user_id: 'google-oauth2|admin', email: 'admin@example.com' } } }, response: { statusCode: method === 'delete' ? 204 : 200, body: {} } },
      user_id: 'google-oauth2|admin',
    });
  }

  /** adds users without log events (seeding a tenant) */
  seedUsers(users: Iterable<Auth0User>): void {
    for (const u of users) this.users.set(u.user_id, u);
  }

  /** a self-service signup (`ss`) */
  signUp(user: Auth0User): void {
    this.users.set(user.user_id, user);
    this.log('ss', { description: '', connection: 'Username-Password-Authentication', user_id: user.user_id, user_name: user.email });
  }

  /** a Management API update of a user (`sapi` PATCH /api/v2/users/{id}) */
  updateUser(id: string, patch: Record<string, unknown>): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    Object.assign(u, patch, { updated_at: new Date().toISOString() });
    this.apiLog('patch', `/api/v2/users/${encodeURIComponent(id)}`, 'Update a User', patch);
  }

  /** a user deleted in the dashboard (`sdu`) or through the Management API (`sapi` DELETE) */
  deleteUser(id: string, via: 'dashboard' | 'api' = 'dashboard'): void {
    if (!this.users.delete(id)) throw new Error(`no user ${id}`);
    for (const m of this.roleMembers.values()) m.delete(id);
    for (const m of this.orgMembers.values()) m.delete(id);
    if (via === 'dashboard') this.log('sdu', { description: 'User was deleted', user_id: id, user_name: '', connection: 'Username-Password-Authentication' });
    else this.apiLog('delete', `/api/v2/users/${encodeURIComponent(id)}`, 'Delete a User');
  }

  addRole(role: Auth0Role, members: string[] = []): void {
    this.roles.set(role.id, role);
    this.roleMembers.set(role.id, new Set(members));
  }

  assignRole(roleId: string, userIds: string[]): void {
    for (const u of userIds) this.roleMembers.get(roleId)!.add(u);
    this.apiLog('post', `/api/v2/roles/${roleId}/users`, 'Assign users to a role', { users: userIds });
  }

  unassignRole(roleId: string, userIds: string[]): void {
    for (const u of userIds) this.roleMembers.get(roleId)!.delete(u);
    this.apiLog('delete', `/api/v2/roles/${roleId}/users`, 'Remove users from a role', { users: userIds });
  }

  addOrganization(org: Auth0Org, members: string[] = []): void {
    this.organizations.set(org.id, org);
    this.orgMembers.set(org.id, new Set(members));
  }

  /** the log events produced since the last delivery */
  takeLogs(): Auth0LogEvent[] {
    const logs = this.pendingLogs;
    this.pendingLogs = [];
    return logs;
  }

  /** POSTs the pending log events to a Custom Webhook log stream endpoint (content format JSON array) */
  async streamLogs(url: string, authorization: string | undefined, events: Auth0LogEvent[] = this.takeLogs()): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const r = await deliver(url, { headers, body: JSON.stringify(events) });
    this.deliveries.push({ status: r.status, body: r.body });
    return r;
  }

  // ---------------------------------------------------------------- routes

  private routes(): void {
    const h = this.http;
    h.route('POST', /^\/oauth\/token$/, (req) => this.token(req));
    h.route('GET', /^\/api\/v2\/users$/, (req) => this.api(req, 'read:users', () => this.listUsers(req)));
    h.route('GET', /^\/api\/v2\/users\/([^/]+)$/, (req, [id]) => this.api(req, 'read:users', () => this.getUser(id!)));
    h.route('GET', /^\/api\/v2\/users\/([^/]+)\/roles$/, (req, [id]) =>
      this.api(req, 'read:roles', () => this.pageBased(req, 'roles', [...this.roles.values()].filter((r) => this.roleMembers.get(r.id)?.has(id!)), 100)),
    );
    h.route('GET', /^\/api\/v2\/users\/([^/]+)\/organizations$/, (req, [id]) =>
      this.api(req, 'read:organizations', () => this.pageBased(req, 'organizations', [...this.organizations.values()].filter((o) => this.orgMembers.get(o.id)?.has(id!)), 100)),
    );
    h.route('GET', /^\/api\/v2\/roles$/, (req) => this.api(req, 'read:roles', () => this.pageBased(req, 'roles', [...this.roles.values()], 100)));
    h.route('GET', /^\/api\/v2\/roles\/([^/]+)\/users$/, (req, [id]) => this.api(req, 'read:role_members', () => this.members(req, 'users', this.roleMembers.get(id!), 'The role does not exist.')));
    h.route('GET', /^\/api\/v2\/organizations$/, (req) => this.api(req, 'read:organizations', () => this.checkpoint(req, 'organizations', [...this.organizations.values()], (o) => o.id)));
    h.route('GET', /^\/api\/v2\/organizations\/([^/]+)\/members$/, (req, [id]) =>
      this.api(req, 'read:organization_members', () => this.members(req, 'members', this.orgMembers.get(id!), 'No organization found by that id or name')),
    );
    h.route('POST', /^\/api\/v2\/jobs\/users-exports$/, (req) => this.api(req, 'read:users', () => this.createExport(req)));
    h.route('GET', /^\/api\/v2\/jobs\/([^/]+)$/, (req, [id]) => this.api(req, 'read:users', () => this.pollJob(id!)));
    h.route('GET', /^\/exports\/([^/]+)$/, (req, [file]) => this.download(req, file!));
  }

  private token(req: FakeRequest): FakeReply {
    const ct = req.header('content-type') ?? '';
    const p: Record<string, string | undefined> = ct.includes('json') ? (req.json<Record<string, string>>() ?? {}) : Object.fromEntries(req.form());
    if (p.grant_type !== 'client_credentials') return { status: 403, body: { error: 'unauthorized_client', error_description: 'Grant type not allowed for the client.' } };
    if (p.client_id !== this.clientId || p.client_secret !== this.clientSecret) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
    if (p.audience !== this.audience) return { status: 403, body: { error: 'access_denied', error_description: `Service not enabled within domain: ${p.audience}` } };
    const t = this.tokens.issue([...this.scopes], 86_400);
    return { status: 200, body: { access_token: t.token, scope: this.scopes.join(' '), expires_in: 86_400, token_type: 'Bearer' } };
  }

  /** the rate-limit bucket: every Management API answer says what is left */
  private rateHeaders(): { headers: Record<string, string>; limited: boolean } {
    const rl = this.opts.rateLimit;
    if (!rl) return { headers: {}, limited: false };
    const now = Date.now();
    if (now >= this.bucket.resetAt) this.bucket = { remaining: rl.limit, resetAt: now + rl.windowSeconds * 1000 };
    const limited = this.bucket.remaining <= 0;
    if (!limited) this.bucket.remaining -= 1;
    return {
      headers: { 'x-ratelimit-limit': String(rl.limit), 'x-ratelimit-remaining': String(this.bucket.remaining), 'x-ratelimit-reset': String(Math.ceil(this.bucket.resetAt / 1000)) },
      limited,
    };
  }

  private async api(req: FakeRequest, scope: string, fn: () => FakeReply | Promise<FakeReply>): Promise<FakeReply> {
    const rate = this.rateHeaders();
    const withRate = (r: FakeReply): FakeReply => ({ ...r, headers: { ...rate.headers, ...r.headers } });
    if (rate.limited) return withRate(mgmtError(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests'));
    const t = this.tokens.check(req);
    if (!t) return withRate(mgmtError(401, 'Unauthorized', 'Expired token received for JSON Web Token validation'));
    if (!t.grants.includes(scope)) return withRate(mgmtError(403, 'Forbidden', `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope'));
    return withRate(await fn());
  }

  private pageParams(req: FakeRequest, max: number): { page: number; perPage: number; totals: boolean } | FakeReply {
    const page = Number(req.query.get('page') ?? 0);
    const perPage = Number(req.query.get('per_page') ?? 50);
    if (!Number.isInteger(page) || page < 0) return mgmtError(400, 'Bad Request', 'Query validation error: \'page\' must be a non-negative integer', 'invalid_query_string');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > max) return mgmtError(400, 'Bad Request', `Query validation error: 'Too big' on property per_page (Number of results per page). Maximum ${max}.`, 'invalid_query_string');
    return { page, perPage, totals: req.query.get('include_totals') === 'true' };
  }

  private pageBased<T>(req: FakeRequest, key: string, all: T[], max: number): FakeReply {
    const p = this.pageParams(req, max);
    if ('status' in p) return p;
    const slice = all.slice(p.page * p.perPage, (p.page + 1) * p.perPage);
    return { status: 200, body: p.totals ? { start: p.page * p.perPage, limit: p.perPage, length: slice.length, total: all.length, [key]: slice } : slice };
  }

  private listUsers(req: FakeRequest): FakeReply {
    const p = this.pageParams(req, 100);
    if ('status' in p) return p;
    if (p.page * p.perPage >= PAGING_CAP) {
      return mgmtError(400, 'Bad Request', 'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation', 'invalid_paging');
    }
    return this.pageBased(req, 'users', [...this.users.values()], 100);
  }

  private getUser(id: string): FakeReply {
    const u = this.users.get(id);
    return u ? { status: 200, body: u } : mgmtError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
  }

  /** checkpoint paging: `take` (≤ 100) and an opaque `from`; `next` until the last page */
  private checkpoint<T>(req: FakeRequest, key: string, all: T[], idOf: (t: T) => string): FakeReply {
    if (req.query.get('take') === null && req.query.get('from') === null) return this.pageBased(req, key, all, 100);
    const take = Number(req.query.get('take') ?? 50);
    if (!Number.isInteger(take) || take < 1 || take > 100) return mgmtError(400, 'Bad Request', "Query validation error: 'take' must be between 1 and 100", 'invalid_query_string');
    const sorted = [...all].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
    const from = req.query.get('from');
    let start = 0;
    if (from) {
      const after = Buffer.from(from, 'base64url').toString('utf8');
      start = sorted.findIndex((t) => idOf(t) > after);
      if (start < 0) start = sorted.length;
    }
    const slice = sorted.slice(start, start + take);
    const body: Record<string, unknown> = { [key]: slice };
    if (start + take < sorted.length) body.next = Buffer.from(idOf(slice[slice.length - 1]!), 'utf8').toString('base64url');
    return { status: 200, body };
  }

  private members(req: FakeRequest, key: 'users' | 'members', ids: Set<string> | undefined, missing: string): FakeReply {
    if (!ids) return mgmtError(404, 'Not Found', missing, key === 'users' ? 'inexistent_role' : 'inexistent_organization');
    const list = [...ids].map((id) => {
      const u = this.users.get(id);
      return { user_id: id, email: u?.email, name: u?.name, picture: u?.picture };
    });
    return this.checkpoint(req, key, list, (m) => m.user_id);
  }

  private createExport(req: FakeRequest): FakeReply {
    const b = req.json<{ format?: string; fields?: Array<{ name: string; export_as?: string }>; connection_id?: string; limit?: number }>() ?? {};
    if (b.format !== undefined && b.format !== 'json' && b.format !== 'csv') return mgmtError(400, 'Bad Request', 'Payload validation error: format must be json or csv', 'invalid_body');
    const job: ExportJob = {
      id: `job_${crypto.randomBytes(8).toString('hex')}`,
      status: 'pending',
      polls: 0,
      fields: b.fields ?? [{ name: 'user_id' }, { name: 'email' }],
      connection_id: b.connection_id,
      created_at: new Date().toISOString(),
    };
    this.jobs.set(job.id, job);
    return { status: 201, body: { type: 'users_export', status: job.status, connection_id: job.connection_id, format: b.format ?? 'json', fields: job.fields, created_at: job.created_at, id: job.id } };
  }

  private pollJob(id: string): FakeReply {
    const job = this.jobs.get(id);
    if (!job) return mgmtError(404, 'Not Found', 'The job does not exist.', 'inexistent_job');
    job.polls += 1;
    const wait = this.opts.exportPolls ?? 2;
    if (job.status !== 'completed' && job.status !== 'failed') {
      if (job.polls > wait) this.completeExport(job);
      else job.status = job.polls > 1 ? 'processing' : 'pending';
    }
    const body: Record<string, unknown> = { type: 'users_export', status: job.status, format: 'json', fields: job.fields, created_at: job.created_at, id: job.id };
    if (job.status === 'completed') body.location = `${this.origin}/exports/${job.file}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&X-Amz-Signature=${crypto.randomBytes(16).toString('hex')}`;
    else body.time_left_seconds = 1;
    return { status: 200, body };
  }

  private completeExport(job: ExportJob): void {
    const lines: string[] = [];
    for (const u of this.users.values()) {
      const row: Record<string, unknown> = {};
      for (const f of job.fields) if (u[f.name] !== undefined) row[f.export_as ?? f.name] = u[f.name];
      lines.push(JSON.stringify(row));
    }
    job.file = `${this.domain}-${job.id}.json.gz`;
    this.files.set(job.file, zlib.gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8')));
    job.status = 'completed';
  }

  private download(req: FakeRequest, file: string): FakeReply {
    if (req.header('authorization')) {
      return { status: 400, headers: { 'content-type': 'application/xml' }, body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>' };
    }
    const data = this.files.get(file);
    if (!data || !req.query.get('X-Amz-Signature')) return { status: 403, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' };
    return { status: 200, headers: { 'content-type': 'application/gzip' }, body: data };
  }
}

export async function startAuth0Fake(opts: Auth0FakeOptions = {}): Promise<Auth0Fake> {
  return new Auth0Fake(opts).start();
}

export function auth0User(i: number, extra: Record<string, unknown> = {}): Auth0User {
  const n = String(i).padStart(5, '0');
  return {
    user_id: `auth0|${n.padStart(24, '0')}`,
    email: `User${n}@Example.com`,
    email_verified: true,
    username: `user${n}`,
    name: `User ${n}`,
    given_name: 'User',
    family_name: n,
    nickname: `user${n}`,
    blocked: false,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-02T00:00:00.000Z',
    app_metadata: { plan: i % 3 ? 'free' : 'pro' },
    user_metadata: {},
    ...extra,
  };
}
