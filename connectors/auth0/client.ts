/**
 * Auth0Client: the Management API v2 through the shared Requester — a client-credentials token
 * for the tenant's API audience, page-based listings (`page`/`per_page`/`include_totals`),
 * checkpoint listings (`from`/`take`/`next`), the `x-ratelimit-*` budget (shared by every
 * connection to the tenant) and Auth0 error bodies. The users export job streams its file.
 */
import {
  checkpointPaginator,
  createErrorHandler,
  errorSummaries,
  jsonPathSelector,
  oauth2ClientCredentials,
  pageNumberPaginator,
  rateLimitPolicy,
  Requester,
  sleep,
  type RateLimitEvents,
} from '../sdk/http/index.ts';
import { downloadLines } from '../sdk/http/line-download.ts';
import { isSourceError, SourceError } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { SOURCE, type Auth0Config } from './spec.ts';

export type Auth0Object = Record<string, unknown>;
/** results the Management API lets one page through (page × per_page) */
export const AUTH0_PAGING_CAP = 1000;
const PAGE_SIZE = 100;

export function baseUrl(cfg: Auth0Config): string {
  return (cfg.managementBaseUrl ?? `https://${cfg.domain}`).replace(/\/+$/, '');
}

export const isNotFound = (err: unknown): boolean => isSourceError(err) && err.detail?.status === 404;

export class Auth0Client {
  readonly http: Requester;

  constructor(
    readonly cfg: Auth0Config,
    private readonly ctx: Pick<ConnectorContext, 'networkGuard' | 'signal'>,
    events?: RateLimitEvents,
  ) {
    this.http = new Requester({
      source: SOURCE,
      baseUrl: `${baseUrl(cfg)}/api/v2`,
      auth: oauth2ClientCredentials({ tokenUrl: `${baseUrl(cfg)}/oauth/token`, clientId: cfg.clientId, clientSecret: cfg.clientSecret, audience: `https://${cfg.domain}/api/v2/` }),
      // every connection to the tenant spends one budget; keep a tenth in reserve for others
      rateLimit: rateLimitPolicy({ budgetKey: `${SOURCE}|${cfg.domain}`, lowWaterFraction: 0.1 }),
      errorHandler: createErrorHandler({ summary: errorSummaries.auth0 }),
      networkGuard: ctx.networkGuard,
      signal: ctx.signal,
      onRateLimited: events?.onRateLimited,
    });
  }

  /** a page-based listing (`include_totals` ends it exactly); `key` names the array in the body */
  async *pages(path: string, key: string, query: Record<string, string | number | boolean> = {}): AsyncGenerator<Auth0Object[]> {
    yield* this.http.paginate<Auth0Object>({ url: path, query: { ...query, include_totals: true } }, pageNumberPaginator({ pageSize: PAGE_SIZE, start: 0, totalPath: '$.total' }), jsonPathSelector(`$.${key}`, { source: SOURCE }));
  }

  /** a checkpoint listing: `take`, then `from` = the previous answer's `next` */
  async *checkpoints(path: string, key: string): AsyncGenerator<Auth0Object[]> {
    yield* this.http.paginate<Auth0Object>({ url: path }, checkpointPaginator({ pageSize: PAGE_SIZE }), jsonPathSelector(`$.${key}`, { source: SOURCE }));
  }

  async usersTotal(): Promise<number> {
    const res = await this.http.request<{ total?: number }>({ url: '/users', query: { page: 0, per_page: 1, include_totals: true, fields: 'user_id' } });
    return Number(res.body?.total ?? 0);
  }

  /** a user, or undefined when Auth0 no longer has it */
  async user(id: string): Promise<Auth0Object | undefined> {
    try {
      return (await this.http.request<Auth0Object>({ url: `/users/${encodeURIComponent(id)}` })).body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Every user through a users export job: create it, poll until it completes, then stream the
   * gzipped NDJSON file (a pre-signed URL: no credentials) one user at a time.
   */
  async *exportUsers(fields: string[]): AsyncGenerator<Auth0Object> {
    const created = await this.http.request<{ id?: string }>({ method: 'POST', url: '/jobs/users-exports', body: { format: 'json', fields: fields.map((name) => ({ name })) } });
    const jobId = created.body?.id;
    if (!jobId) throw new SourceError(SOURCE, 'POST /api/v2/jobs/users-exports answered without a job id', { kind: 'protocol' });
    const deadline = Date.now() + this.cfg.exportTimeoutMinutes * 60_000;
    let delay = this.cfg.exportPollIntervalMs;
    let location: string | undefined;
    while (!location) {
      if (Date.now() > deadline) throw new SourceError(SOURCE, `the users export job ${jobId} did not complete within ${this.cfg.exportTimeoutMinutes} minutes`, { kind: 'timeout' });
      await sleep(delay, this.ctx.signal, SOURCE);
      delay = Math.min(10_000, Math.round(delay * 1.5));
      const job = (await this.http.request<{ status?: string; location?: string; summary?: unknown }>({ url: `/jobs/${encodeURIComponent(jobId)}` })).body ?? {};
      if (job.status === 'failed') throw new SourceError(SOURCE, `the users export job ${jobId} failed at Auth0`, { kind: 'transient' });
      if (job.status === 'completed') {
        if (!job.location) throw new SourceError(SOURCE, `the users export job ${jobId} completed without a file location`, { kind: 'protocol' });
        location = job.location;
      }
    }
    let line = 0;
    for await (const text of downloadLines({ source: SOURCE, url: location, networkGuard: this.ctx.networkGuard, signal: this.ctx.signal })) {
      line += 1;
      if (text.trim() === '') continue;
      try {
        yield JSON.parse(text) as Auth0Object;
      } catch {
        throw new SourceError(SOURCE, `line ${line} of the users export is not JSON`, { kind: 'protocol' });
      }
    }
  }
}
