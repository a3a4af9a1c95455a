/**
 * OktaClient: the Management API calls the connector makes, as streams of pages. Paging follows
 * `Link: <…>; rel="next"` (opaque `after` cursors); a 429 waits for X-Rate-Limit-Reset and
 * repeats the same request (same cursor); the X-Rate-Limit-Remaining budget is tracked per
 * endpoint bucket — Okta limits each endpoint separately — and shared by every connection to the
 * same org in this process, so the next call waits for the reset instead of spending a 429.
 */
import { SourceError } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import {
  apiKeyAuth,
  createErrorHandler,
  errorSummaries,
  jsonPathSelector,
  linkHeaderPaginator,
  oauth2ClientCredentials,
  rateLimitPolicy,
  RateLimitEvents,
  Requester,
  tokenProviderAuth,
  type AuthStrategy,
  type HttpRequest,
  type QueryValue,
} from '../sdk/http/index.ts';
import { orgBase, SOURCE, type OktaConfig } from './spec.ts';

export interface OktaUser {
  id: string;
  status: string;
  created?: string;
  statusChanged?: string | null;
  lastUpdated: string;
  profile: Record<string, unknown>;
}

export interface OktaGroup {
  id: string;
  type: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  profile: { name: string; description?: string | null };
}

/** a page of a listing and the server's clock when it answered (for high-water marks) */
export interface OktaPage<T> {
  items: T[];
  serverTime?: number;
}

/** Okta's rate-limit bucket of a path: the endpoint with ids replaced */
export function oktaBucketOf(path: string): string {
  if (/^\/api\/v1\/users\/[^/]+\/groups$/.test(path)) return '/api/v1/users/{id}/groups';
  if (/^\/api\/v1\/users\/[^/]+$/.test(path)) return '/api/v1/users/{id}';
  if (/^\/api\/v1\/groups\/[^/]+\/users$/.test(path)) return '/api/v1/groups/{id}/users';
  if (/^\/api\/v1\/groups\/[^/]+$/.test(path)) return '/api/v1/groups/{id}';
  return path;
}

/** `lastUpdated gt "2024-01-01T00:00:00.000Z"` */
export const updatedSince = (attr: 'lastUpdated' | 'lastMembershipUpdated', since: string) => `${attr} gt "${new Date(since).toISOString()}"`;

function authFor(cfg: OktaConfig, ctx: ConnectorContext, base: string): AuthStrategy {
  switch (cfg.authMethod) {
    case 'api_token':
      return apiKeyAuth({ in: 'header', name: 'Authorization', prefix: 'SSWS ', value: cfg.apiToken! });
    case 'service_app':
      return oauth2ClientCredentials({
        tokenUrl: `${base}/oauth2/v1/token`,
        clientId: cfg.clientId!,
        privateKeyJwt: { privateKeyPem: cfg.privateKey!, keyId: cfg.keyId },
        scope: cfg.scopes,
      });
    case 'oauth_admin': {
      const tokens = ctx.oauthTokens;
      if (!tokens) {
        throw new SourceError(SOURCE, 'this connection authenticates with OAuth but has not been authorized yet: open /pip/oauth/authorize/okta?connection_id=<connection id> as an admin', { kind: 'auth' });
      }
      return tokenProviderAuth(() => tokens.get(), async () => {
        await tokens.refresh();
        return true;
      });
    }
  }
}

export class OktaClient {
  readonly base: string;
  readonly events = new RateLimitEvents();
  private readonly auth: AuthStrategy;
  private readonly requesters = new Map<string, Requester>();

  constructor(
    private readonly cfg: OktaConfig,
    private readonly ctx: ConnectorContext,
    private readonly opts: { fetch?: typeof fetch } = {},
  ) {
    this.base = orgBase(cfg.orgUrl);
    this.auth = authFor(cfg, ctx, this.base);
  }

  /** one Requester per rate-limit bucket: each keeps that bucket's budget */
  private http(path: string): Requester {
    const bucket = oktaBucketOf(path);
    let r = this.requesters.get(bucket);
    if (!r) {
      r = new Requester({
        source: SOURCE,
        baseUrl: this.base,
        auth: this.auth,
        rateLimit: rateLimitPolicy({ budgetKey: `okta|${this.base}|${bucket}`, maxWaitMs: this.cfg.maxRateLimitWaitSeconds * 1000 }),
        errorHandler: createErrorHandler({ summary: errorSummaries.okta }),
        networkGuard: this.ctx.networkGuard,
        signal: this.ctx.signal,
        onRateLimited: this.events.onRateLimited,
        timeoutMs: this.cfg.requestTimeoutMs,
        fetch: this.opts.fetch,
      });
      this.requesters.set(bucket, r);
    }
    return r;
  }

  private async *list<T>(path: string, query: Record<string, QueryValue> = {}): AsyncGenerator<OktaPage<T>> {
    const req: HttpRequest = { url: path, query: { limit: this.cfg.pageSize, ...query } };
    for await (const page of this.http(path).pages<T>(req, linkHeaderPaginator(), jsonPathSelector<T>('$', { source: SOURCE }))) {
      const date = page.response.headers.get('date');
      const serverTime = date ? Date.parse(date) : undefined;
      yield { items: page.records, serverTime: Number.isFinite(serverTime) ? serverTime : undefined };
    }
  }

  /** one object, or undefined when Okta answers 404 (deleted) */
  private async one<T>(path: string, query?: Record<string, QueryValue>): Promise<T | undefined> {
    try {
      return (await this.http(path).request<T>({ url: path, query })).body;
    } catch (err) {
      if (err instanceof SourceError && err.detail?.status === 404) return undefined;
      throw err;
    }
  }

  /** users; without a filter Okta leaves DEPROVISIONED users out */
  listUsers(filter?: string): AsyncGenerator<OktaPage<OktaUser>> {
    return this.list<OktaUser>('/api/v1/users', filter ? { filter } : {});
  }

  listGroups(filter?: string): AsyncGenerator<OktaPage<OktaGroup>> {
    return this.list<OktaGroup>('/api/v1/groups', filter ? { filter } : {});
  }

  /** members of a group (undefined when the group is gone) */
  async *listGroupMembers(groupId: string): AsyncGenerator<OktaPage<OktaUser>> {
    try {
      yield* this.list<OktaUser>(`/api/v1/groups/${encodeURIComponent(groupId)}/users`);
    } catch (err) {
      if (err instanceof SourceError && err.detail?.status === 404) return;
      throw err;
    }
  }

  getUser(id: string): Promise<OktaUser | undefined> {
    return this.one<OktaUser>(`/api/v1/users/${encodeURIComponent(id)}`);
  }

  getGroup(id: string): Promise<OktaGroup | undefined> {
    return this.one<OktaGroup>(`/api/v1/groups/${encodeURIComponent(id)}`);
  }

  /** the groups a user is a direct member of; undefined when the user is gone */
  userGroups(id: string): Promise<OktaGroup[] | undefined> {
    return this.one<OktaGroup[]>(`/api/v1/users/${encodeURIComponent(id)}/groups`);
  }

  userSchema(): Promise<Record<string, unknown> | undefined> {
    return this.one<Record<string, unknown>>('/api/v1/meta/schemas/user/default');
  }

  /** a cheap read of one item of a listing (check) */
  async probe(path: '/api/v1/users' | '/api/v1/groups'): Promise<number> {
    const res = await this.http(path).request<unknown[]>({ url: path, query: { limit: 1 } });
    return Array.isArray(res.body) ? res.body.length : 0;
  }
}
