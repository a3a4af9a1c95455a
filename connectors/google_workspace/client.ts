/**
 * GoogleDirectoryClient: the Admin SDK Directory API through the shared Requester — tokens from
 * the service account's JWT bearer grant (domain-wide delegation, impersonating the admin),
 * `nextPageToken` paging, Google error bodies, and the throttles Google answers with 403
 * `userRateLimitExceeded` / `quotaExceeded` (or 429) retried with exponential backoff.
 */
import {
  bodyCursorPaginator,
  createErrorHandler,
  errorSummaries,
  jsonPathSelector,
  rateLimitPolicy,
  Requester,
  type RateLimitEvents,
} from '../sdk/http/index.ts';
import { jwtBearerGrant } from '../sdk/http/jwt-bearer-grant.ts';
import { isSourceError } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { DIRECTORY_SCOPES, SOURCE, type GoogleWorkspaceConfig, type ServiceAccountKey } from './spec.ts';

export type GoogleObject = Record<string, unknown> & { id: string };

export const isNotFound = (err: unknown): boolean => isSourceError(err) && err.detail?.status === 404;

export interface Channel {
  id: string;
  resourceId: string;
  expiration: number;
}

export class GoogleDirectoryClient {
  readonly http: Requester;

  constructor(
    readonly cfg: GoogleWorkspaceConfig & { key: ServiceAccountKey },
    ctx: Pick<ConnectorContext, 'networkGuard' | 'signal'>,
    events?: RateLimitEvents,
  ) {
    this.http = new Requester({
      source: SOURCE,
      baseUrl: cfg.apiUrl,
      auth: jwtBearerGrant({
        tokenUrl: cfg.key.token_uri,
        issuer: cfg.key.client_email,
        subject: cfg.adminEmail,
        scopes: [DIRECTORY_SCOPES.users, DIRECTORY_SCOPES.groups, ...(cfg.readCustomSchemas ? [DIRECTORY_SCOPES.schemas] : [])],
        privateKeyPem: cfg.key.private_key,
        keyId: cfg.key.private_key_id,
      }),
      rateLimit: rateLimitPolicy({ budgetKey: `${SOURCE}|${cfg.key.client_email}|${cfg.customer}` }),
      errorHandler: createErrorHandler({ summary: errorSummaries.google }),
      networkGuard: ctx.networkGuard,
      signal: ctx.signal,
      onRateLimited: events?.onRateLimited,
    });
  }

  /** a listing paged by `nextPageToken`; `key` names the array (absent on an empty page) */
  async *list(path: string, key: string, query: Record<string, string | number>): AsyncGenerator<GoogleObject[]> {
    yield* this.http.paginate<GoogleObject>({ url: path, query }, bodyCursorPaginator({ cursorPath: 'nextPageToken', param: 'pageToken' }), jsonPathSelector(`$.${key}`, { source: SOURCE }));
  }

  users(): AsyncGenerator<GoogleObject[]> {
    return this.list('/users', 'users', { customer: this.cfg.customer, maxResults: 500, projection: 'full' });
  }

  /** the customer's groups, or those `userKey` is a member of */
  groups(userKey?: string): AsyncGenerator<GoogleObject[]> {
    return this.list('/groups', 'groups', { customer: this.cfg.customer, maxResults: 200, ...(userKey ? { userKey } : {}) });
  }

  members(groupKey: string): AsyncGenerator<GoogleObject[]> {
    return this.list(`/groups/${encodeURIComponent(groupKey)}/members`, 'members', { maxResults: 200 });
  }

  /** a user, or undefined when Google no longer has it */
  async user(userKey: string): Promise<GoogleObject | undefined> {
    try {
      return (await this.http.request<GoogleObject>({ url: `/users/${encodeURIComponent(userKey)}`, query: { projection: 'full' } })).body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async schemas(): Promise<Array<{ schemaName: string; fields?: Array<{ fieldName: string; fieldType: string; multiValued?: boolean }> }>> {
    const res = await this.http.request<{ schemas?: Array<{ schemaName: string; fields?: Array<{ fieldName: string; fieldType: string; multiValued?: boolean }> }> }>({ url: `/customer/${encodeURIComponent(this.cfg.customer)}/schemas` });
    return res.body?.schemas ?? [];
  }

  /** opens a watch channel on the customer's users for one event */
  async watchUsers(event: string, channel: { id: string; address: string; token: string; expiration: number }): Promise<Channel> {
    const res = await this.http.request<{ id: string; resourceId: string; expiration?: string }>({
      method: 'POST',
      url: '/users/watch',
      query: { customer: this.cfg.customer, event, projection: 'basic' },
      body: { id: channel.id, type: 'web_hook', address: channel.address, token: channel.token, expiration: String(channel.expiration) },
    });
    return { id: res.body.id, resourceId: res.body.resourceId, expiration: Number(res.body.expiration ?? channel.expiration) };
  }

  /** stops a channel; one Google no longer knows is not an error */
  async stopChannel(channel: { id: string; resourceId: string }): Promise<void> {
    try {
      await this.http.request({ method: 'POST', url: `${new URL(this.cfg.apiUrl).origin}/admin/directory_v1/channels/stop`, body: { id: channel.id, resourceId: channel.resourceId } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
