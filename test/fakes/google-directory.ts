/**
 * A fake Google OAuth token endpoint + Admin SDK Directory API v1, following the documented
 * behaviour:
 *
 *  - the service-account flow with domain-wide delegation: `POST /token` with
 *    `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256 assertion (`iss` = the
 *    service account's client_email, `sub` = the impersonated admin, `scope`, `aud` = token_uri,
 *    at most one hour); the signature is checked with the key the fake issued (`kid` =
 *    private_key_id); scopes not delegated to the client id answer 401 `unauthorized_client`
 *  - `users` (maxResults ≤ 500), `groups` (≤ 200), `groups/{key}/members` (≤ 200) paged by
 *    `nextPageToken`/`pageToken`; `users/{key}`; `customer/my_customer/schemas`
 *  - Google error bodies; throttles as 403 `userRateLimitExceeded` / `quotaExceeded` (injected)
 *  - push for users: `users/watch?event=…` creates a channel (id, token, address, expiration) and
 *    sends the `sync` message; changes produce notifications with the X-Goog-* headers and the
 *    user resource as body; `POST /admin/directory_v1/channels/stop`
 */
import crypto from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { decodeToken, deliver, encodeToken, FakeTokens, HttpFake, type FakeReply, type FakeRequest } from './http-fake.ts';

export const DIRECTORY_SCOPES = {
  userReadonly: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
  groupReadonly: 'https://www.googleapis.com/auth/admin.directory.group.readonly',
  memberReadonly: 'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
  schemaReadonly: 'https://www.googleapis.com/auth/admin.directory.userschema.readonly',
};
const USER_EVENTS = ['add', 'delete', 'makeAdmin', 'undelete', 'update'] as const;
type UserEvent = (typeof USER_EVENTS)[number];

export type GoogleUser = Record<string, unknown> & { id: string; primaryEmail: string };
export type GoogleGroup = Record<string, unknown> & { id: string; email: string; name: string };
export interface GoogleMember {
  id: string;
  email: string;
  role: 'OWNER' | 'MANAGER' | 'MEMBER';
  type: 'USER' | 'GROUP' | 'CUSTOMER' | 'EXTERNAL';
  status?: string;
}

interface Channel {
  id: string;
  resourceId: string;
  token?: string;
  address: string;
  event: UserEvent;
  expiration: number;
  messages: number;
}

export interface GoogleFakeOptions {
  /** scopes the Workspace admin delegated to the service account's client id */
  delegatedScopes?: string[];
  /** default channel lifetime when a watch request names none (ms) */
  channelTtlMs?: number;
}

export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

const googleError = (code: number, reason: string, message: string, domain = 'global'): FakeReply => ({
  status: code,
  body: { error: { code, message, errors: [{ message, domain, reason }], status: code === 403 ? 'PERMISSION_DENIED' : code === 404 ? 'NOT_FOUND' : code === 401 ? 'UNAUTHENTICATED' : 'INVALID_ARGUMENT' } },
});

/** a 403 throttle as the Directory API sends it */
export function googleThrottle(reason: 'userRateLimitExceeded' | 'quotaExceeded' | 'rateLimitExceeded' = 'userRateLimitExceeded'): FakeReply {
  return googleError(403, reason, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.", 'usageLimits');
}

export class GoogleDirectoryFake {
  readonly http = new HttpFake('google');
  readonly tokens = new FakeTokens();
  readonly users = new Map<string, GoogleUser>();
  readonly groups = new Map<string, GoogleGroup>();
  readonly members = new Map<string, Map<string, GoogleMember>>();
  readonly channels = new Map<string, Channel>();
  readonly schemas: Array<{ schemaName: string; fields: Array<{ fieldName: string; fieldType: string; multiValued?: boolean }> }> = [];
  readonly deliveries: Array<{ channelId: string; state: string; status: number }> = [];
  /** every JWT assertion presented at the token endpoint */
  readonly assertions: string[] = [];
  delegatedScopes: string[];
  readonly key: ServiceAccountKey;
  private readonly publicKeyPem: string;
  private pending: Array<{ event: UserEvent; user: GoogleUser }> = [];

  constructor(private readonly opts: GoogleFakeOptions = {}) {
    this.delegatedScopes = opts.delegatedScopes ?? [DIRECTORY_SCOPES.userReadonly, DIRECTORY_SCOPES.groupReadonly, DIRECTORY_SCOPES.memberReadonly];
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.key = {
      type: 'service_account',
      project_id: 'pip-directory-sync',
      private_key_id: crypto.randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: 'pip-sync@pip-directory-sync.iam.gserviceaccount.com',
      client_id: String(100_000_000_000_000_000_000n + BigInt(crypto.randomInt(1_000_000))),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: '',
    };
    this.routes();
  }

  async start(): Promise<this> {
    await this.http.start();
    this.key.token_uri = `${this.origin}/token`;
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  get origin(): string {
    return this.http.origin;
  }

  /** the Directory API base a connector config points at */
  get apiUrl(): string {
    return `${this.origin}/admin/directory/v1`;
  }

  // ---------------------------------------------------------------- directory changes

  addUser(user: GoogleUser, notify = true): void {
    this.users.set(user.id, user);
    if (notify) this.pending.push({ event: 'add', user });
  }

  updateUser(id: string, patch: Record<string, unknown>): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    Object.assign(u, patch);
    this.pending.push({ event: patch.isAdmin === true ? 'makeAdmin' : 'update', user: u });
  }

  deleteUser(id: string): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    this.users.delete(id);
    for (const m of this.members.values()) m.delete(id);
    this.pending.push({ event: 'delete', user: u });
  }

  addGroup(group: GoogleGroup, members: GoogleMember[] = []): void {
    this.groups.set(group.id, group);
    this.members.set(group.id, new Map(members.map((m) => [m.id, m])));
  }

  /** delivers the notifications of the changes since the last call, one per watching channel */
  async sendNotifications(opts: { token?: string } = {}): Promise<Array<{ status: number }>> {
    const pending = this.pending;
    this.pending = [];
    const out: Array<{ status: number }> = [];
    for (const p of pending) {
      for (const ch of this.channels.values()) {
        if (ch.event !== p.event || ch.expiration < Date.now()) continue;
        out.push(await this.notify(ch, p.event, { kind: 'admin#directory#user', id: p.user.id, etag: `"${crypto.randomBytes(8).toString('hex')}"`, primaryEmail: p.user.primaryEmail }, opts.token));
      }
    }
    return out;
  }

  private async notify(ch: Channel, state: string, body: unknown | undefined, token = ch.token): Promise<{ status: number }> {
    ch.messages += 1;
    const headers: Record<string, string> = {
      'x-goog-channel-id': ch.id,
      'x-goog-channel-expiration': new Date(ch.expiration).toUTCString(),
      'x-goog-resource-id': ch.resourceId,
      'x-goog-resource-uri': `${this.apiUrl}/users?customer=my_customer&event=${ch.event}&alt=json`,
      'x-goog-resource-state': state,
      'x-goog-message-number': String(ch.messages),
    };
    if (token !== undefined) headers['x-goog-channel-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json; charset=UTF-8';
    let status = 0;
    try {
      status = (await deliver(ch.address, { headers, body: body === undefined ? undefined : JSON.stringify(body) })).status;
    } catch {
      status = 0;
    }
    this.deliveries.push({ channelId: ch.id, state, status });
    return { status };
  }

  // ---------------------------------------------------------------- routes

  private routes(): void {
    const h = this.http;
    const base = '/admin/directory/v1';
    h.route('POST', /^\/token$/, (req) => this.token(req));
    h.route('GET', new RegExp(`^${base}/users$`), (req) => this.api(req, [DIRECTORY_SCOPES.userReadonly], () => this.list(req, 'admin#directory#users', 'users', [...this.users.values()], 500)));
    h.route('POST', new RegExp(`^${base}/users/watch$`), (req) => this.api(req, [DIRECTORY_SCOPES.userReadonly], () => this.watch(req)));
    h.route('GET', new RegExp(`^${base}/users/([^/]+)$`), (req, [key]) => this.api(req, [DIRECTORY_SCOPES.userReadonly], () => this.getUser(key!)));
    h.route('GET', new RegExp(`^${base}/groups$`), (req) =>
      this.api(req, [DIRECTORY_SCOPES.groupReadonly], () => {
        const userKey = req.query.get('userKey');
        if (userKey === null) return this.list(req, 'admin#directory#groups', 'groups', [...this.groups.values()], 200);
        const user = this.users.get(userKey) ?? [...this.users.values()].find((u) => u.primaryEmail === userKey);
        if (!user) return googleError(404, 'notFound', 'Resource Not Found: userKey');
        return this.list(req, 'admin#directory#groups', 'groups', [...this.groups.values()].filter((g) => this.members.get(g.id)?.has(user.id)), 200);
      }),
    );
    h.route('GET', new RegExp(`^${base}/groups/([^/]+)/members$`), (req, [key]) =>
      this.api(req, [DIRECTORY_SCOPES.memberReadonly, DIRECTORY_SCOPES.groupReadonly], () => {
        const m = this.members.get(key!);
        if (!m) return googleError(404, 'notFound', 'Resource Not Found: groupKey');
        return this.list(req, 'admin#directory#members', 'members', [...m.values()].map((x) => ({ kind: 'admin#directory#member', etag: '"m"', status: 'ACTIVE', ...x })), 200);
      }),
    );
    h.route('GET', new RegExp(`^${base}/customer/([^/]+)/schemas$`), (req) =>
      this.api(req, [DIRECTORY_SCOPES.schemaReadonly], () => ({
        status: 200,
        body: { kind: 'admin#directory#schemas', etag: '"s"', schemas: this.schemas.map((s) => ({ kind: 'admin#directory#schema', schemaId: crypto.createHash('md5').update(s.schemaName).digest('hex'), etag: '"s"', ...s, fields: s.fields.map((f) => ({ kind: 'admin#directory#schema#fieldspec', fieldId: f.fieldName, readAccessType: 'ADMINS_AND_SELF', ...f })) })) },
      })),
    );
    h.route('POST', /^\/admin\/directory_v1\/channels\/stop$/, (req) => this.api(req, [], () => this.stop(req)));
  }

  private async token(req: FakeRequest): Promise<FakeReply> {
    const form = req.form();
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + form.get('grant_type') } };
    const assertion = form.get('assertion') ?? '';
    this.assertions.push(assertion);
    let claims: Record<string, unknown>;
    try {
      const header = decodeProtectedHeader(assertion);
      if (header.kid !== undefined && header.kid !== this.key.private_key_id) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
      const { payload } = await jwtVerify(assertion, await importSPKI(this.publicKeyPem, 'RS256'), { algorithms: ['RS256'], audience: this.key.token_uri, issuer: this.key.client_email, requiredClaims: ['iat', 'exp', 'scope'] });
      claims = payload as Record<string, unknown>;
    } catch (err) {
      const name = (err as Error & { code?: string }).code ?? (err as Error).name;
      return { status: 400, body: { error: 'invalid_grant', error_description: name === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'Invalid JWT Signature.' : `Invalid JWT: ${name}` } };
    }
    if (Number(claims.exp) - Number(claims.iat) > 3600) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.' } };
    const scopes = String(claims.scope).split(' ').filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !this.delegatedScopes.includes(s))) {
      return { status: 401, body: { error: 'unauthorized_client', error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.' } };
    }
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    if (sub && ![...this.users.values()].some((u) => u.primaryEmail === sub)) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid email or User ID' } };
    const t = this.tokens.issue(scopes, 3599, sub);
    return { status: 200, body: { access_token: t.token, expires_in: 3599, token_type: 'Bearer' } };
  }

  private async api(req: FakeRequest, anyScope: string[], fn: () => FakeReply | Promise<FakeReply>): Promise<FakeReply> {
    const t = this.tokens.check(req);
    if (!t) return googleError(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    const admin = [...this.users.values()].find((u) => u.primaryEmail === t.subject);
    if (!admin || admin.isAdmin !== true) return googleError(403, 'forbidden', 'Not Authorized to access this resource/api');
    if (anyScope.length && !anyScope.some((s) => t.grants.includes(s))) return googleError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
    return fn();
  }

  private list<T>(req: FakeRequest, kind: string, key: string, all: T[], max: number): FakeReply {
    const maxResults = Number(req.query.get('maxResults') ?? 100);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > max) return googleError(400, 'invalid', `Invalid value '${req.query.get('maxResults')}'. Values must be within the range: [1, ${max}]`);
    if (key !== 'members' && !req.query.get('customer') && !req.query.get('domain')) return googleError(400, 'badRequest', 'Bad Request');
    const token = req.query.get('pageToken');
    const offset = token ? decodeToken<{ offset: number }>(token)?.offset : 0;
    if (offset === undefined) return googleError(400, 'invalid', 'Invalid page token');
    const slice = all.slice(offset, offset + maxResults);
    const body: Record<string, unknown> = { kind, etag: `"${crypto.randomBytes(6).toString('hex')}"`, [key]: slice };
    if (offset + maxResults < all.length) body.nextPageToken = encodeToken({ offset: offset + maxResults });
    return { status: 200, body };
  }

  private getUser(key: string): FakeReply {
    const u = this.users.get(key) ?? [...this.users.values()].find((x) => x.primaryEmail === key);
    return u ? { status: 200, body: u } : googleError(404, 'notFound', 'Resource Not Found: userKey');
  }

  private watch(req: FakeRequest): FakeReply {
    const event = req.query.get('event') as UserEvent | null;
    if (event !== null && !USER_EVENTS.includes(event)) return googleError(400, 'invalidParameter', `Invalid value for: event`);
    if (!req.query.get('customer') && !req.query.get('domain')) return googleError(400, 'badRequest', 'Bad Request');
    const b = req.json<{ id?: string; type?: string; address?: string; token?: string; expiration?: string | number }>() ?? {};
    if (!b.id || !/^[A-Za-z0-9\-_+/=]{1,64}$/.test(b.id)) return googleError(400, 'invalid', 'Invalid channel id');
    if (b.type !== 'web_hook' && b.type !== 'webhook') return googleError(400, 'invalid', 'Invalid channel type');
    if (!b.address) return googleError(400, 'required', 'Required: address');
    if ([...this.channels.values()].some((c) => c.id === b.id)) return googleError(400, 'channelIdNotUnique', `Channel id ${b.id} not unique`);
    if (b.token !== undefined && b.token.length > 256) return googleError(400, 'invalid', 'Channel token too long');
    const expiration = b.expiration !== undefined ? Number(b.expiration) : Date.now() + (this.opts.channelTtlMs ?? 6 * 3600_000);
    const ch: Channel = { id: b.id, resourceId: crypto.randomBytes(14).toString('base64url'), token: b.token, address: b.address, event: event ?? 'update', expiration, messages: 0 };
    this.channels.set(ch.id, ch);
    // the sync message follows the watch answer
    setImmediate(() => void this.notify(ch, 'sync', undefined));
    return { status: 200, body: { kind: 'api#channel', id: ch.id, resourceId: ch.resourceId, resourceUri: `${this.apiUrl}/users?customer=my_customer&event=${ch.event}&alt=json`, token: ch.token, expiration: String(ch.expiration) } };
  }

  private stop(req: FakeRequest): FakeReply {
    const b = req.json<{ id?: string; resourceId?: string }>() ?? {};
    const ch = b.id ? this.channels.get(b.id) : undefined;
    if (!ch || ch.resourceId !== b.resourceId) return googleError(404, 'notFound', `Channel '${b.id}' not found for project`);
    this.channels.delete(ch.id);
    return { status: 204 };
  }
}

export async function startGoogleDirectoryFake(opts: GoogleFakeOptions = {}): Promise<GoogleDirectoryFake> {
  return new GoogleDirectoryFake(opts).start();
}

export function googleUser(i: number, extra: Record<string, unknown> = {}): GoogleUser {
  const n = String(i).padStart(5, '0');
  return {
    kind: 'admin#directory#user',
    id: String(100_000_000_000_000_000n + BigInt(i)),
    etag: `"u${i}"`,
    primaryEmail: `user${n}@example.org`,
    name: { givenName: 'User', familyName: n, fullName: `User ${n}` },
    isAdmin: false,
    isDelegatedAdmin: false,
    suspended: false,
    archived: false,
    orgUnitPath: '/',
    creationTime: '2024-01-01T00:00:00.000Z',
    lastLoginTime: '2024-06-01T00:00:00.000Z',
    organizations: [{ title: 'Engineer', department: i % 2 ? 'Sales' : 'Engineering', primary: true }],
    ...extra,
  };
}
