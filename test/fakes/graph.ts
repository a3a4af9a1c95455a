/**
 * A fake Microsoft identity platform + Microsoft Graph v1.0, following the documented behaviour:
 *
 *  - token endpoint `POST /{tenant}/oauth2/v2.0/token` (client credentials, scope
 *    `https://graph.microsoft.com/.default`) with a client secret or a client assertion signed by
 *    the app's certificate key (RFC 7523; `x5t` thumbprint header, aud = the token URL); AADSTS
 *    error bodies; issued tokens carry application permissions (roles)
 *  - `GET /users`, `/groups`, `/groups/{id}/members|transitiveMembers` with `$select`, `$top`
 *    (≤ 999), `$filter=id in (…)`, paging by `@odata.nextLink` with an opaque `$skiptoken`
 *  - delta queries `/users/delta`, `/groups/delta`: an initial round of current objects, then
 *    changes only (updated objects carry the changed properties — "at least the properties that
 *    have been updated"), `@removed` tombstones, `members@delta` with large groups repeated across
 *    pages, `@odata.deltaLink` at the end; stale tokens answer 410 `resyncRequired` with a
 *    Location header (or 400 `syncStateNotFound`) after `expireDeltaTokens()`
 *  - `/$metadata` (a small CSDL document) and `directoryObjects/getAvailableExtensionProperties`
 *  - subscriptions: create (with the `validationToken` handshake to every notification URL),
 *    renew (PATCH), reauthorize, delete; change and lifecycle notifications sent on demand
 *  - throttling injected by tests through `HttpFake.inject` (429/503 with Retry-After)
 */
import crypto, { type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { decodeToken, deliver, encodeToken, FakeTokens, HttpFake, type FakeReply, type FakeRequest } from './http-fake.ts';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const DEFAULT_GRAPH_PERMISSIONS = ['User.Read.All', 'Group.Read.All', 'GroupMember.Read.All'];
const MAX_SUBSCRIPTION_MINUTES = 41_760;
const IMPLIED_BY: Record<string, string[]> = {
  'User.Read.All': ['Directory.Read.All'],
  'Group.Read.All': ['Directory.Read.All'],
  'GroupMember.Read.All': ['Group.Read.All', 'Directory.Read.All'],
};

export type GraphObject = Record<string, unknown> & { id: string };
type MemberRef = { type: 'user' | 'group'; id: string };

interface Change {
  seq: number;
  kind: 'user' | 'group';
  id: string;
  created?: boolean;
  props?: string[];
  removed?: 'changed' | 'deleted';
  member?: { ref: MemberRef; op: 'add' | 'remove' };
}

interface Subscription {
  id: string;
  resource: 'users' | 'groups';
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  expirationDateTime: string;
  clientState?: string;
  applicationId: string;
  creatorId: string;
}

export interface GraphFakeOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** the app's certificate: its public key and SHA-1 thumbprint (hex, as the Entra portal shows it) */
  certificate?: { publicKey: KeyObject; thumbprintHex: string };
  /** application permissions granted to the app (the token's `roles`) */
  permissions?: string[];
  /** objects per delta page */
  deltaPageSize?: number;
  /** members in one `members@delta` before the group repeats on the next entry */
  deltaMembersPerEntry?: number;
  tokenTtlSeconds?: number;
}

export interface Delivery {
  url: string;
  kind: 'validation' | 'change' | 'lifecycle';
  status: number;
  body: string;
  contentType: string | null;
}

const graphError = (status: number, code: string, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  headers,
  body: { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': crypto.randomUUID(), 'client-request-id': crypto.randomUUID() } } },
});

const aadError = (status: number, error: string, code: number, description: string): FakeReply => ({
  status,
  body: { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: crypto.randomUUID(), correlation_id: crypto.randomUUID() },
});

/** the user and group properties the fake knows, as its $metadata declares them */
export const USER_PROPERTIES: Array<[string, string]> = [
  ['accountEnabled', 'Edm.Boolean'],
  ['createdDateTime', 'Edm.DateTimeOffset'],
  ['department', 'Edm.String'],
  ['displayName', 'Edm.String'],
  ['employeeId', 'Edm.String'],
  ['givenName', 'Edm.String'],
  ['jobTitle', 'Edm.String'],
  ['mail', 'Edm.String'],
  ['officeLocation', 'Edm.String'],
  ['onPremisesExtensionAttributes', 'graph.onPremisesExtensionAttributes'],
  ['surname', 'Edm.String'],
  ['userPrincipalName', 'Edm.String'],
  ['businessPhones', 'Collection(Edm.String)'],
];
export const GROUP_PROPERTIES: Array<[string, string]> = [
  ['createdDateTime', 'Edm.DateTimeOffset'],
  ['description', 'Edm.String'],
  ['displayName', 'Edm.String'],
  ['groupTypes', 'Collection(Edm.String)'],
  ['mail', 'Edm.String'],
  ['mailEnabled', 'Edm.Boolean'],
  ['securityEnabled', 'Edm.Boolean'],
];

function metadataDocument(): string {
  const props = (list: Array<[string, string]>) => list.map(([n, t]) => `        <Property Name="${n}" Type="${t}"/>`).join('\n');
  const ext = Array.from({ length: 15 }, (_, i) => `        <Property Name="extensionAttribute${i + 1}" Type="Edm.String"/>`).join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="entity" Abstract="true">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.String" Nullable="false"/>
      </EntityType>
      <EntityType Name="directoryObject" BaseType="graph.entity" OpenType="true">
        <Property Name="deletedDateTime" Type="Edm.DateTimeOffset"/>
      </EntityType>
      <EntityType Name="user" BaseType="graph.directoryObject" OpenType="true">
${props(USER_PROPERTIES)}
        <NavigationProperty Name="manager" Type="graph.directoryObject"/>
        <NavigationProperty Name="memberOf" Type="Collection(graph.directoryObject)"/>
      </EntityType>
      <EntityType Name="group" BaseType="graph.directoryObject" OpenType="true">
${props(GROUP_PROPERTIES)}
        <NavigationProperty Name="members" Type="Collection(graph.directoryObject)"/>
      </EntityType>
      <ComplexType Name="onPremisesExtensionAttributes">
${ext}
      </ComplexType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>`;
}

/** `$filter=id in ('a','b')` → ids; anything else is unsupported here */
function parseIdFilter(filter: string | null): string[] | undefined | 'unsupported' {
  if (filter === null) return undefined;
  const m = /^id\s+in\s+\((.*)\)$/i.exec(filter.trim());
  if (!m) return 'unsupported';
  return [...m[1]!.matchAll(/'([^']*)'/g)].map((x) => x[1]!);
}

export class GraphFake {
  readonly http = new HttpFake('graph');
  readonly tenantId: string;
  readonly clientId: string;
  readonly tokens = new FakeTokens();
  readonly users = new Map<string, GraphObject>();
  readonly groups = new Map<string, GraphObject>();
  /** group id → ordered member refs ("type:id") */
  readonly members = new Map<string, Map<string, MemberRef>>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly deliveries: Delivery[] = [];
  /** directory extension properties (extension_<appId>_<name>) registered for users */
  readonly extensionProperties: Array<{ name: string; dataType: string; targetObjects: string[] }> = [];
  permissions: string[];
  private readonly changes: Change[] = [];
  private seq = 0;
  private epoch = 0;
  private staleReply: { status: number; code: string } = { status: 410, code: 'resyncRequired' };
  private readonly snapshots = new Map<string, string[]>();
  private pendingNotifications: Array<{ resource: 'users' | 'groups'; changeType: 'updated' | 'deleted'; id: string; members?: string[] }> = [];

  constructor(private readonly opts: GraphFakeOptions = {}) {
    this.tenantId = opts.tenantId ?? crypto.randomUUID();
    this.clientId = opts.clientId ?? crypto.randomUUID();
    this.permissions = opts.permissions ?? [...DEFAULT_GRAPH_PERMISSIONS];
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

  /** what a connector config calls the Graph base URL */
  get graphUrl(): string {
    return `${this.origin}/v1.0`;
  }

  get tokenUrl(): string {
    return `${this.origin}/${this.tenantId}/oauth2/v2.0/token`;
  }

  // ---------------------------------------------------------------- directory changes

  private record(change: Omit<Change, 'seq'>): void {
    this.changes.push({ ...change, seq: ++this.seq });
  }

  addUser(user: GraphObject): GraphObject {
    this.users.set(user.id, user);
    this.record({ kind: 'user', id: user.id, created: true });
    this.pendingNotifications.push({ resource: 'users', changeType: 'updated', id: user.id });
    return user;
  }

  updateUser(id: string, patch: Record<string, unknown>): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    Object.assign(u, patch);
    this.record({ kind: 'user', id, props: Object.keys(patch) });
    this.pendingNotifications.push({ resource: 'users', changeType: 'updated', id });
  }

  /** deletes a user (soft: `@removed` reason `changed`; hard: `deleted`); its memberships go with it */
  deleteUser(id: string, hard = false): void {
    if (!this.users.delete(id)) throw new Error(`no user ${id}`);
    for (const [gid, m] of this.members) if (m.has(`user:${id}`)) this.removeMember(gid, { type: 'user', id });
    this.record({ kind: 'user', id, removed: hard ? 'deleted' : 'changed' });
    this.pendingNotifications.push({ resource: 'users', changeType: 'deleted', id });
  }

  addGroup(group: GraphObject): GraphObject {
    this.groups.set(group.id, group);
    this.members.set(group.id, new Map());
    this.record({ kind: 'group', id: group.id, created: true });
    this.pendingNotifications.push({ resource: 'groups', changeType: 'updated', id: group.id });
    return group;
  }

  updateGroup(id: string, patch: Record<string, unknown>): void {
    const g = this.groups.get(id);
    if (!g) throw new Error(`no group ${id}`);
    Object.assign(g, patch);
    this.record({ kind: 'group', id, props: Object.keys(patch) });
    this.pendingNotifications.push({ resource: 'groups', changeType: 'updated', id });
  }

  deleteGroup(id: string): void {
    if (!this.groups.delete(id)) throw new Error(`no group ${id}`);
    this.members.delete(id);
    for (const [gid, m] of this.members) if (m.has(`group:${id}`)) this.removeMember(gid, { type: 'group', id });
    this.record({ kind: 'group', id, removed: 'changed' });
    this.pendingNotifications.push({ resource: 'groups', changeType: 'deleted', id });
  }

  addMember(groupId: string, ref: MemberRef): void {
    const m = this.members.get(groupId);
    if (!m) throw new Error(`no group ${groupId}`);
    m.set(`${ref.type}:${ref.id}`, ref);
    this.record({ kind: 'group', id: groupId, member: { ref, op: 'add' } });
    this.pendingNotifications.push({ resource: 'groups', changeType: 'updated', id: groupId, members: [ref.id] });
  }

  removeMember(groupId: string, ref: MemberRef): void {
    this.members.get(groupId)?.delete(`${ref.type}:${ref.id}`);
    this.record({ kind: 'group', id: groupId, member: { ref, op: 'remove' } });
    this.pendingNotifications.push({ resource: 'groups', changeType: 'updated', id: groupId, members: [ref.id] });
  }

  /** every delta and skip token issued so far becomes stale: 410 resyncRequired (or the given answer) */
  expireDeltaTokens(reply: { status: number; code: string } = { status: 410, code: 'resyncRequired' }): void {
    this.epoch += 1;
    this.staleReply = reply;
  }

  // ---------------------------------------------------------------- notifications

  /** forgets the changes no notification was sent for yet (a directory seeded before subscribing) */
  discardPendingNotifications(): void {
    this.pendingNotifications = [];
  }

  /** sends the change notifications accumulated since the last call to every matching subscription */
  async sendChangeNotifications(opts: { clientState?: string } = {}): Promise<Delivery[]> {
    const pending = this.pendingNotifications;
    this.pendingNotifications = [];
    const out: Delivery[] = [];
    for (const sub of this.subscriptions.values()) {
      const items = pending
        .filter((p) => p.resource === sub.resource && sub.changeType.split(',').includes(p.changeType))
        .map((p) => {
          const type = p.resource === 'users' ? 'User' : 'Group';
          const path = `${type}s/${p.id}`;
          return {
            subscriptionId: sub.id,
            subscriptionExpirationDateTime: sub.expirationDateTime,
            changeType: p.changeType,
            resource: path,
            resourceData: { '@odata.type': `#Microsoft.Graph.${type}`, '@odata.id': path, id: p.id, organizationId: this.tenantId, ...(p.members ? { 'members@delta': p.members.map((id) => ({ id })) } : {}) },
            clientState: opts.clientState ?? sub.clientState ?? null,
            tenantId: this.tenantId,
          };
        });
      if (items.length) out.push(await this.post(sub.notificationUrl, 'change', { value: items }));
    }
    return out;
  }

  /** sends one lifecycle notification for a subscription */
  async sendLifecycleNotification(subscriptionId: string, lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed', opts: { clientState?: string } = {}): Promise<Delivery> {
    const sub = this.subscriptions.get(subscriptionId);
    if (!sub) throw new Error(`no subscription ${subscriptionId}`);
    if (lifecycleEvent === 'subscriptionRemoved') this.subscriptions.delete(subscriptionId);
    return this.post(sub.lifecycleNotificationUrl ?? sub.notificationUrl, 'lifecycle', {
      value: [{ subscriptionId, subscriptionExpirationDateTime: sub.expirationDateTime, tenantId: this.tenantId, clientState: opts.clientState ?? sub.clientState ?? null, lifecycleEvent }],
    });
  }

  private async post(url: string, kind: Delivery['kind'], payload: unknown): Promise<Delivery> {
    const r = await deliver(url, { headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(payload) });
    const d = { url, kind, ...r };
    this.deliveries.push(d);
    return d;
  }

  // ---------------------------------------------------------------- routes

  private routes(): void {
    const h = this.http;
    h.route('POST', /^\/([^/]+)\/oauth2\/v2\.0\/token$/, (req, [tenant]) => this.token(req, tenant!));
    h.route('GET', /^\/v1\.0\/\$metadata$/, (req) => this.authed(req, [], () => ({ status: 200, headers: { 'content-type': 'application/xml' }, body: metadataDocument() })));
    h.route('POST', /^\/v1\.0\/directoryObjects\/getAvailableExtensionProperties$/, (req) =>
      this.authed(req, ['Directory.Read.All'], () => ({
        status: 200,
        body: {
          '@odata.context': `${this.graphUrl}/$metadata#Collection(extensionProperty)`,
          value: this.extensionProperties.map((p) => ({ id: crypto.randomUUID(), deletedDateTime: null, appDisplayName: 'HR sync', isMultiValued: false, isSyncedFromOnPremises: false, ...p })),
        },
      })),
    );
    h.route('GET', /^\/v1\.0\/users\/delta$/, (req) => this.authed(req, ['User.Read.All'], () => this.delta(req, 'user')));
    h.route('GET', /^\/v1\.0\/groups\/delta$/, (req) => this.authed(req, ['Group.Read.All'], () => this.delta(req, 'group')));
    h.route('GET', /^\/v1\.0\/users$/, (req) => this.authed(req, ['User.Read.All'], () => this.list(req, 'users', this.users)));
    h.route('GET', /^\/v1\.0\/groups$/, (req) => this.authed(req, ['Group.Read.All'], () => this.list(req, 'groups', this.groups)));
    h.route('GET', /^\/v1\.0\/users\/([^/]+)$/, (req, [id]) => this.authed(req, ['User.Read.All'], () => this.getOne(req, this.users, id!)));
    h.route('GET', /^\/v1\.0\/groups\/([^/]+)$/, (req, [id]) => this.authed(req, ['Group.Read.All'], () => this.getOne(req, this.groups, id!)));
    h.route('GET', /^\/v1\.0\/users\/([^/]+)\/(memberOf|transitiveMemberOf)$/, (req, [id, rel]) => this.authed(req, ['GroupMember.Read.All'], () => this.listMemberOf(req, id!, rel === 'transitiveMemberOf')));
    h.route('GET', /^\/v1\.0\/groups\/([^/]+)\/(members|transitiveMembers)$/, (req, [id, rel]) => this.authed(req, ['GroupMember.Read.All'], () => this.listMembers(req, id!, rel === 'transitiveMembers')));
    h.route('POST', /^\/v1\.0\/subscriptions$/, (req) => this.authed(req, [], () => this.createSubscription(req)));
    h.route('PATCH', /^\/v1\.0\/subscriptions\/([^/]+)$/, (req, [id]) => this.authed(req, [], () => this.renewSubscription(req, id!)));
    h.route('POST', /^\/v1\.0\/subscriptions\/([^/]+)\/reauthorize$/, (req, [id]) => this.authed(req, [], () => (this.subscriptions.has(id!) ? { status: 204 } : graphError(404, 'ResourceNotFound', `The object was not found.`))));
    h.route('DELETE', /^\/v1\.0\/subscriptions\/([^/]+)$/, (req, [id]) => this.authed(req, [], () => (this.subscriptions.delete(id!) ? { status: 204 } : graphError(404, 'ResourceNotFound', 'The object was not found.'))));
  }

  private async token(req: FakeRequest, tenant: string): Promise<FakeReply> {
    if (tenant !== this.tenantId) return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    const form = req.form();
    if (form.get('grant_type') !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.clientId) return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    if (form.get('scope') !== GRAPH_SCOPE) return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    const assertion = form.get('client_assertion');
    if (assertion) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return aadError(400, 'invalid_request', 700024, 'Client assertion type is invalid.');
      const cert = this.opts.certificate;
      if (!cert) return aadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation: the application has no certificate.');
      try {
        const header = decodeProtectedHeader(assertion);
        const x5t = Buffer.from(cert.thumbprintHex, 'hex').toString('base64url');
        if (header.x5t !== x5t) return aadError(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(header.x5t)}']`);
        await jwtVerify(assertion, cert.publicKey, { audience: this.tokenUrl, issuer: this.clientId, subject: this.clientId, algorithms: ['RS256', 'PS256'], requiredClaims: ['jti', 'exp'] });
      } catch (err) {
        return aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. (${(err as Error).name})`);
      }
    } else {
      const secret = form.get('client_secret');
      if (!secret || !this.opts.clientSecret || secret !== this.opts.clientSecret) {
        return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
      }
    }
    const t = this.tokens.issue([...this.permissions], this.opts.tokenTtlSeconds ?? 3599);
    return { status: 200, body: { token_type: 'Bearer', expires_in: this.opts.tokenTtlSeconds ?? 3599, ext_expires_in: this.opts.tokenTtlSeconds ?? 3599, access_token: t.token } };
  }

  private authed(req: FakeRequest, anyOf: string[], fn: () => FakeReply | Promise<FakeReply>): FakeReply | Promise<FakeReply> {
    const t = this.tokens.check(req);
    if (!t) return graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
    // a broader permission covers the narrower ones (documented "higher privileged" permissions)
    const granted = (p: string) => [p, ...(IMPLIED_BY[p] ?? [])].some((g) => t.grants.includes(g));
    if (anyOf.length && !anyOf.some(granted)) return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    return fn();
  }

  private select(obj: GraphObject, select: string[] | undefined, omitNulls: boolean): GraphObject {
    if (!select) return { ...obj };
    const out: GraphObject = { id: obj.id };
    for (const p of select) {
      if (p === 'id' || p === 'members') continue;
      const v = obj[p];
      if (v === undefined || v === null) {
        if (!omitNulls) out[p] = null;
      } else out[p] = v;
    }
    return out;
  }

  private selectParam(req: FakeRequest): string[] | undefined {
    const s = req.query.get('$select');
    return s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
  }

  private topParam(req: FakeRequest, fallback: number): number | FakeReply {
    const raw = req.query.get('$top');
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 999) return graphError(400, 'Request_UnsupportedQuery', `Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
    return n;
  }

  private snapshot(ids: string[]): string {
    const key = crypto.randomUUID();
    this.snapshots.set(key, ids);
    return key;
  }

  private page<T>(req: FakeRequest, all: () => T[], render: (item: T) => unknown, size: number, context: string): FakeReply {
    const skip = decodeToken<{ snap: string; offset: number; select?: string[] }>(req.query.get('$skiptoken'));
    let ids: T[];
    let offset = 0;
    let snap: string;
    if (req.query.get('$skiptoken')) {
      const s = skip && (this.snapshots.get(skip.snap) as T[] | undefined);
      if (!skip || !s) return graphError(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.');
      ids = s;
      offset = skip.offset;
      snap = skip.snap;
    } else {
      ids = all();
      snap = this.snapshot(ids as unknown as string[]);
    }
    const slice = ids.slice(offset, offset + size);
    const body: Record<string, unknown> = { '@odata.context': `${this.graphUrl}/$metadata#${context}`, value: slice.map(render).filter((x) => x !== undefined) };
    if (offset + size < ids.length) {
      const next = new URL(req.url.toString());
      next.searchParams.delete('$skiptoken');
      next.searchParams.set('$skiptoken', encodeToken({ snap, offset: offset + size }));
      body['@odata.nextLink'] = next.toString();
    } else {
      this.snapshots.delete(snap);
    }
    return { status: 200, body };
  }

  private list(req: FakeRequest, context: string, store: Map<string, GraphObject>): FakeReply {
    const top = this.topParam(req, 100);
    if (typeof top !== 'number') return top;
    const filter = parseIdFilter(req.query.get('$filter'));
    if (filter === 'unsupported') return graphError(400, 'Request_UnsupportedQuery', 'Unsupported query.');
    if (filter && filter.length > 15) return graphError(400, 'Request_UnsupportedQuery', `Too many child clauses specified in search filter expression containing 'OR' operators: ${filter.length}. Max allowed: 15.`);
    const select = this.selectParam(req);
    return this.page(req, () => (filter ? filter.filter((id) => store.has(id)) : [...store.keys()]), (id: string) => {
      const o = store.get(id);
      return o && this.select(o, select, false);
    }, top, context);
  }

  private getOne(req: FakeRequest, store: Map<string, GraphObject>, id: string): FakeReply {
    const o = store.get(id);
    if (!o) return graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    return { status: 200, body: { '@odata.context': `${this.graphUrl}/$metadata#${store === this.users ? 'users' : 'groups'}/$entity`, ...this.select(o, this.selectParam(req), false) } };
  }

  private memberRefs(groupId: string, transitive: boolean): MemberRef[] {
    const direct = [...(this.members.get(groupId)?.values() ?? [])];
    if (!transitive) return direct;
    const seen = new Map<string, MemberRef>();
    const queue = [...direct];
    while (queue.length) {
      const r = queue.shift()!;
      const key = `${r.type}:${r.id}`;
      if (seen.has(key)) continue;
      seen.set(key, r);
      if (r.type === 'group') queue.push(...(this.members.get(r.id)?.values() ?? []));
    }
    return [...seen.values()];
  }

  private listMembers(req: FakeRequest, groupId: string, transitive: boolean): FakeReply {
    if (!this.groups.has(groupId)) return graphError(404, 'Request_ResourceNotFound', `Resource '${groupId}' does not exist or one of its queried reference-property objects are not present.`);
    const top = this.topParam(req, 100);
    if (typeof top !== 'number') return top;
    const select = this.selectParam(req);
    return this.page(req, () => this.memberRefs(groupId, transitive).map((r) => `${r.type}:${r.id}`), (key: string) => {
      const [type, id] = key.split(':') as ['user' | 'group', string];
      const o = (type === 'user' ? this.users : this.groups).get(id);
      return o && { '@odata.type': `#microsoft.graph.${type}`, ...this.select(o, select, false) };
    }, top, 'directoryObjects');
  }

  private listMemberOf(req: FakeRequest, userId: string, transitive: boolean): FakeReply {
    if (!this.users.has(userId)) return graphError(404, 'Request_ResourceNotFound', `Resource '${userId}' does not exist or one of its queried reference-property objects are not present.`);
    const top = this.topParam(req, 100);
    if (typeof top !== 'number') return top;
    const select = this.selectParam(req);
    return this.page(req, () => [...this.groups.keys()].filter((gid) => this.memberRefs(gid, transitive).some((r) => r.type === 'user' && r.id === userId)), (gid: string) => {
      const g = this.groups.get(gid);
      return g && { '@odata.type': '#microsoft.graph.group', ...this.select(g, select, false) };
    }, top, 'directoryObjects');
  }

  // ---------------------------------------------------------------- delta

  private delta(req: FakeRequest, kind: 'user' | 'group'): FakeReply {
    const base = `${this.graphUrl}/${kind}s/delta`;
    const deltaToken = req.query.get('$deltatoken');
    const skipToken = req.query.get('$skiptoken');
    type Round = { epoch: number; select?: string[]; since: number; upto: number; offset: number; snap?: string };
    let round: Round;
    if (skipToken || deltaToken) {
      const t = decodeToken<Round>(skipToken ?? deltaToken);
      if (!t || t.epoch !== this.epoch || (t.snap && !this.snapshots.has(t.snap))) {
        const fresh = `${base}?$deltatoken=`;
        return this.staleReply.status === 410
          ? graphError(410, this.staleReply.code, 'Resync required. Replace any local cached data with a full delta request.', { location: fresh })
          : graphError(this.staleReply.status, this.staleReply.code, 'The sync state generation is not found. The delta token is expired and data must be synchronized again.');
      }
      round = skipToken ? t : { ...t, since: t.upto, upto: this.seq, offset: 0, snap: undefined };
    } else {
      const select = this.selectParam(req);
      round = { epoch: this.epoch, select, since: -1, upto: this.seq, offset: 0 };
    }
    const size = this.opts.deltaPageSize ?? 100;
    const entries = round.since < 0 ? this.initialEntries(kind, round) : this.trackedEntries(kind, round);
    const slice = entries.slice(round.offset, round.offset + size);
    const body: Record<string, unknown> = { '@odata.context': `${this.graphUrl}/$metadata#${kind}s`, value: slice };
    if (round.offset + size < entries.length) {
      body['@odata.nextLink'] = `${base}?$skiptoken=${encodeToken({ ...round, offset: round.offset + size })}`;
    } else {
      if (round.snap) this.snapshots.delete(round.snap);
      body['@odata.deltaLink'] = `${base}?$deltatoken=${encodeToken({ epoch: round.epoch, select: round.select, since: round.since, upto: round.upto, offset: 0 })}`;
    }
    return { status: 200, body };
  }

  private wantsMembers(kind: 'user' | 'group', select?: string[]): boolean {
    return kind === 'group' && (!select || select.includes('members'));
  }

  /** the initial round: every current object (a snapshot taken at the first page), big groups repeated */
  private initialEntries(kind: 'user' | 'group', round: { select?: string[]; snap?: string }): unknown[] {
    const store = kind === 'user' ? this.users : this.groups;
    if (!round.snap) round.snap = this.snapshot([...store.keys()]);
    const ids = this.snapshots.get(round.snap)!;
    const out: unknown[] = [];
    const per = this.opts.deltaMembersPerEntry ?? 200;
    for (const id of ids) {
      const o = store.get(id);
      if (!o) continue;
      const rendered = this.select(o, round.select, true);
      if (!this.wantsMembers(kind, round.select)) {
        out.push(rendered);
        continue;
      }
      const refs = [...(this.members.get(id)?.values() ?? [])];
      if (refs.length === 0) out.push(rendered);
      for (let i = 0; i < refs.length; i += per) {
        out.push({ ...rendered, 'members@delta': refs.slice(i, i + per).map((r) => ({ '@odata.type': `#microsoft.graph.${r.type}`, id: r.id })) });
      }
    }
    return out;
  }

  /** a tracked round: changed objects since the token, coalesced per object */
  private trackedEntries(kind: 'user' | 'group', round: { select?: string[]; since: number; upto: number }): unknown[] {
    const store = kind === 'user' ? this.users : this.groups;
    type Coalesced = { created: boolean; props: Set<string>; removed?: 'changed' | 'deleted'; members: Map<string, { ref: MemberRef; op: 'add' | 'remove' }> };
    const byId = new Map<string, Coalesced>();
    for (const c of this.changes) {
      if (c.seq <= round.since || c.seq > round.upto || c.kind !== kind) continue;
      const e: Coalesced = byId.get(c.id) ?? { created: false, props: new Set<string>(), members: new Map() };
      byId.set(c.id, e);
      if (c.created) {
        e.created = true;
        e.removed = undefined;
      }
      for (const p of c.props ?? []) e.props.add(p);
      if (c.removed) e.removed = c.removed;
      if (c.member) e.members.set(`${c.member.ref.type}:${c.member.ref.id}`, c.member);
    }
    const out: unknown[] = [];
    for (const [id, e] of byId) {
      const o = store.get(id);
      if (e.removed || !o) {
        out.push({ id, '@removed': { reason: e.removed ?? 'changed' } });
        continue;
      }
      if (kind === 'user') {
        // updated instances carry at least the updated properties: this fake sends exactly those
        const selected = e.created ? this.select(o, round.select, true) : this.select(o, round.select?.filter((p) => e.props.has(p)) ?? [...e.props], true);
        if (!e.created && Object.keys(selected).length === 1) continue; // only unselected properties changed
        out.push(selected);
        continue;
      }
      const rendered = this.select(o, round.select, true);
      if (this.wantsMembers(kind, round.select) && e.members.size) {
        rendered['members@delta'] = [...e.members.values()].map((m) => ({ '@odata.type': `#microsoft.graph.${m.ref.type}`, id: m.ref.id, ...(m.op === 'remove' ? { '@removed': { reason: 'deleted' } } : {}) }));
      } else if (!e.created && ![...e.props].some((p) => !round.select || round.select.includes(p))) continue;
      out.push(rendered);
    }
    return out;
  }

  // ---------------------------------------------------------------- subscriptions

  private async validate(url: string): Promise<boolean> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${crypto.randomUUID()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    try {
      const r = await deliver(target.toString(), { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '' });
      this.deliveries.push({ url, kind: 'validation', ...r });
      return r.status === 200 && (r.contentType ?? '').startsWith('text/plain') && r.body === token;
    } catch {
      this.deliveries.push({ url, kind: 'validation', status: 0, body: '', contentType: null });
      return false;
    }
  }

  private checkExpiry(value: unknown): FakeReply | undefined {
    const t = typeof value === 'string' ? Date.parse(value) : NaN;
    if (!Number.isFinite(t)) return graphError(400, 'InvalidRequest', 'expirationDateTime is required.');
    if (t <= Date.now()) return graphError(400, 'InvalidRequest', 'Subscription expiration must be in the future.');
    if (t > Date.now() + MAX_SUBSCRIPTION_MINUTES * 60_000) return graphError(400, 'InvalidRequest', `Subscription expiration can only be ${MAX_SUBSCRIPTION_MINUTES} minutes in the future.`);
    return undefined;
  }

  private async createSubscription(req: FakeRequest): Promise<FakeReply> {
    const b = req.json<Record<string, unknown>>() ?? {};
    const resource = String(b.resource ?? '').replace(/^\//, '');
    if (resource !== 'users' && resource !== 'groups') return graphError(400, 'InvalidRequest', `Resource '${b.resource}' is not supported.`);
    const types = String(b.changeType ?? '').split(',').map((s) => s.trim());
    if (types.length === 0 || types.some((t) => t !== 'updated' && t !== 'deleted')) return graphError(400, 'InvalidRequest', 'User and group change notifications support only the updated and deleted changeType.');
    const bad = this.checkExpiry(b.expirationDateTime);
    if (bad) return bad;
    if (typeof b.clientState === 'string' && b.clientState.length > 128) return graphError(400, 'InvalidRequest', 'clientState is longer than 128 characters.');
    const urls = [...new Set([String(b.notificationUrl ?? ''), ...(b.lifecycleNotificationUrl ? [String(b.lifecycleNotificationUrl)] : [])])];
    for (const url of urls) {
      if (!(await this.validate(url))) return graphError(400, 'ValidationError', `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.`);
    }
    const sub: Subscription = {
      id: crypto.randomUUID(),
      resource,
      changeType: types.join(','),
      notificationUrl: String(b.notificationUrl),
      lifecycleNotificationUrl: b.lifecycleNotificationUrl ? String(b.lifecycleNotificationUrl) : undefined,
      expirationDateTime: new Date(Date.parse(String(b.expirationDateTime))).toISOString(),
      clientState: typeof b.clientState === 'string' ? b.clientState : undefined,
      applicationId: this.clientId,
      creatorId: crypto.randomUUID(),
    };
    this.subscriptions.set(sub.id, sub);
    return { status: 201, body: { '@odata.context': `${this.graphUrl}/$metadata#subscriptions/$entity`, ...sub, clientState: sub.clientState ?? null, latestSupportedTlsVersion: 'v1_2' } };
  }

  private renewSubscription(req: FakeRequest, id: string): FakeReply {
    const sub = this.subscriptions.get(id);
    if (!sub) return graphError(404, 'ResourceNotFound', 'The object was not found.');
    const b = req.json<Record<string, unknown>>() ?? {};
    const bad = this.checkExpiry(b.expirationDateTime);
    if (bad) return bad;
    sub.expirationDateTime = new Date(Date.parse(String(b.expirationDateTime))).toISOString();
    return { status: 200, body: { '@odata.context': `${this.graphUrl}/$metadata#subscriptions/$entity`, ...sub, clientState: sub.clientState ?? null } };
  }
}

export async function startGraphFake(opts: GraphFakeOptions = {}): Promise<GraphFake> {
  return new GraphFake(opts).start();
}

/** a Graph user as the directory holds it */
export function graphUser(i: number, extra: Record<string, unknown> = {}): GraphObject {
  const n = String(i).padStart(5, '0');
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    userPrincipalName: `user${n}@contoso.onmicrosoft.com`,
    mail: `User${n}@Contoso.com`,
    displayName: `User ${n}`,
    givenName: 'User',
    surname: n,
    accountEnabled: true,
    department: i % 2 ? 'Sales' : 'Engineering',
    jobTitle: null,
    createdDateTime: '2024-01-01T00:00:00Z',
    ...extra,
  };
}

export function graphGroup(i: number, extra: Record<string, unknown> = {}): GraphObject {
  return {
    id: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    displayName: `Group ${i}`,
    description: null,
    mail: null,
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
    createdDateTime: '2024-01-01T00:00:00Z',
    ...extra,
  };
}
