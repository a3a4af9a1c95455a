/**
 * GraphClient: Microsoft Graph v1.0 through the shared Requester — client credentials (secret or
 * certificate) at the tenant's token endpoint, `@odata.nextLink` paging with `async *`, delta
 * rounds that end with the `@odata.deltaLink`, throttling (429/503 Retry-After) and Graph error
 * bodies handled by the SDK. Pages stay inside; callers see streams of objects.
 */
import {
  createErrorHandler,
  errorSummaries,
  jsonPathSelector,
  oauth2ClientCredentials,
  odataNextLinkPaginator,
  rateLimitPolicy,
  Requester,
  type HttpRequest,
  type RateLimitEvents,
} from '../sdk/http/index.ts';
import { SourceError, isSourceError } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { SOURCE, type AzureAdConfig } from './spec.ts';

export type GraphObject = Record<string, unknown> & { id: string };

/** `$top` Graph accepts on directory listings */
export const GRAPH_PAGE_SIZE = 999;
/** clauses Graph accepts in one `id in (…)` filter */
const IDS_PER_FILTER = 15;

/** Graph's resource for a cloud's Graph host: `https://graph.microsoft.com/.default` and national clouds */
const KNOWN_GRAPH_HOSTS = new Set(['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']);
export function graphScope(graphUrl: string): string {
  const host = new URL(graphUrl).host;
  return `https://${KNOWN_GRAPH_HOSTS.has(host) ? host : 'graph.microsoft.com'}/.default`;
}

export function tokenUrl(cfg: AzureAdConfig): string {
  return `${cfg.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(cfg.tenantId)}/oauth2/v2.0/token`;
}

/** `x5t`: the certificate's SHA-1 thumbprint, base64url, as Entra ID expects in the assertion header */
export function x5t(thumbprintHex: string): string {
  return Buffer.from(thumbprintHex.replace(/:/g, ''), 'hex').toString('base64url');
}

/** a stale delta or skip token: Graph wants a fresh initial round (410, or 400 syncStateNotFound) */
export function isStaleDeltaToken(err: unknown): boolean {
  if (!isSourceError(err)) return false;
  const status = err.detail?.status;
  const code = String(err.detail?.providerCode ?? '').toLowerCase();
  return status === 410 || (status === 400 && ['syncstatenotfound', 'syncstateinvalid', 'resyncrequired', 'directory_expiredpagetoken'].includes(code));
}

export interface DeltaPage {
  objects: GraphObject[];
  /** set on the last page of a round */
  deltaLink?: string;
}

export interface GraphSubscription {
  id: string;
  resource: string;
  expirationDateTime: string;
}

export class GraphClient {
  readonly http: Requester;

  constructor(
    readonly cfg: AzureAdConfig,
    ctx: Pick<ConnectorContext, 'networkGuard' | 'signal'>,
    events?: RateLimitEvents,
  ) {
    this.http = new Requester({
      source: SOURCE,
      baseUrl: cfg.graphUrl,
      auth: oauth2ClientCredentials({
        tokenUrl: tokenUrl(cfg),
        clientId: cfg.clientId,
        scope: graphScope(cfg.graphUrl),
        ...(cfg.authMethod === 'certificate'
          ? { privateKeyJwt: { privateKeyPem: cfg.certificatePrivateKey!, headers: { x5t: x5t(cfg.certificateThumbprint!) } } }
          : { clientSecret: cfg.clientSecret }),
      }),
      rateLimit: rateLimitPolicy({ budgetKey: `${SOURCE}|${cfg.tenantId}` }),
      errorHandler: createErrorHandler({ summary: errorSummaries.graph }),
      networkGuard: ctx.networkGuard,
      signal: ctx.signal,
      onRateLimited: events?.onRateLimited,
    });
  }

  /** every object of a collection (`/users`, `/groups`, `/groups/{id}/members`), a page at a time */
  async *list(path: string, query: Record<string, string | number> = {}): AsyncGenerator<GraphObject[]> {
    yield* this.http.paginate<GraphObject>({ url: path, query: { $top: GRAPH_PAGE_SIZE, ...query } }, odataNextLinkPaginator(), jsonPathSelector('$.value', { source: SOURCE }));
  }

  /** one delta round from a delta link, or an initial round of `/users/delta` or `/groups/delta` */
  async *delta(start: { deltaLink: string } | { path: string; select: string[] }): AsyncGenerator<DeltaPage> {
    const request: HttpRequest = 'deltaLink' in start ? { url: start.deltaLink } : { url: start.path, query: { $select: start.select.join(',') } };
    for await (const page of this.http.pages<GraphObject>(request, odataNextLinkPaginator(), jsonPathSelector('$.value', { source: SOURCE }))) {
      const deltaLink = page.end?.deltaLink;
      yield { objects: page.records, deltaLink: typeof deltaLink === 'string' ? deltaLink : undefined };
    }
  }

  /** the objects with these ids that exist (batches of `id in (…)` filters) */
  async *byIds(collection: 'users' | 'groups', ids: string[], select: string[]): AsyncGenerator<GraphObject[]> {
    for (let i = 0; i < ids.length; i += IDS_PER_FILTER) {
      const batch = ids.slice(i, i + IDS_PER_FILTER);
      const filter = `id in (${batch.map((id) => `'${id.replace(/'/g, "''")}'`).join(',')})`;
      yield* this.list(`/${collection}`, { $filter: filter, $select: select.join(',') });
    }
  }

  /** a group's members (direct or transitive); undefined when the group does not exist */
  async *members(groupId: string, transitive: boolean): AsyncGenerator<GraphObject[]> {
    yield* this.list(`/groups/${encodeURIComponent(groupId)}/${transitive ? 'transitiveMembers' : 'members'}`, { $select: 'id' });
  }

  /** the groups (and roles) a user is a member of, directly or through nested groups */
  async *memberOf(userId: string, transitive: boolean): AsyncGenerator<GraphObject[]> {
    yield* this.list(`/users/${encodeURIComponent(userId)}/${transitive ? 'transitiveMemberOf' : 'memberOf'}`, { $select: 'id' });
  }

  /** the service's CSDL document */
  async metadata(): Promise<string> {
    const res = await this.http.request<string>({ url: '/$metadata', headers: { accept: 'application/xml' }, responseType: 'text' });
    return res.body;
  }

  /** directory extension properties registered in the tenant (needs Directory.Read.All) */
  async extensionProperties(): Promise<Array<{ name: string; dataType: string; targetObjects: string[]; isMultiValued?: boolean }>> {
    const res = await this.http.request<{ value?: Array<{ name: string; dataType: string; targetObjects: string[]; isMultiValued?: boolean }> }>({
      method: 'POST',
      url: '/directoryObjects/getAvailableExtensionProperties',
      body: { isSyncedFromOnPremises: false },
    });
    return res.body?.value ?? [];
  }

  async createSubscription(body: Record<string, unknown>): Promise<GraphSubscription> {
    return (await this.http.request<GraphSubscription>({ method: 'POST', url: '/subscriptions', body })).body;
  }

  /** renews; undefined when Graph no longer has the subscription */
  async renewSubscription(id: string, expirationDateTime: string): Promise<GraphSubscription | undefined> {
    try {
      return (await this.http.request<GraphSubscription>({ method: 'PATCH', url: `/subscriptions/${encodeURIComponent(id)}`, body: { expirationDateTime } })).body;
    } catch (err) {
      if (isSourceError(err) && err.detail?.status === 404) return undefined;
      throw err;
    }
  }

  async deleteSubscription(id: string): Promise<void> {
    try {
      await this.http.request({ method: 'DELETE', url: `/subscriptions/${encodeURIComponent(id)}` });
    } catch (err) {
      if (!(isSourceError(err) && err.detail?.status === 404)) throw err;
    }
  }
}

/** a 404 on a single object means it is gone */
export function isNotFound(err: unknown): boolean {
  return isSourceError(err) && err.detail?.status === 404;
}

export function permissionHint(err: unknown, permission: string): unknown {
  if (isSourceError(err) && err.kind === 'permission') {
    return new SourceError(SOURCE, `${err.message.replace(/^azure_ad: /, '')} — grant the application permission ${permission} and admin consent`, { kind: 'permission', cause: err, detail: err.detail });
  }
  return err;
}
