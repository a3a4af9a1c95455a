/**
 * The REST client: a Requester configured from the connector config, and one stream's records as
 * pages. Paging strategies come from a table (config type → SDK Paginator), so a stream names
 * its strategy and never branches on it.
 */
import { SourceError } from '../sdk/errors.ts';
import { authFromConfig, rateLimitFromConfig } from '../sdk/http/http-config.ts';
import {
  bodyCursorPaginator,
  checkpointPaginator,
  jsonPathSelector,
  linkHeaderPaginator,
  nextUrlInBodyPaginator,
  noPaginator,
  odataNextLinkPaginator,
  offsetPaginator,
  pageNumberPaginator,
  Requester,
  withQuery,
  type HttpRequest,
  type Paginator,
} from '../sdk/http/index.ts';
import type { RateLimitEvents } from '../sdk/http/rate-limit-events.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import type { PagingType, RestConfig, RestPaging, RestStream } from './spec.ts';

export const SOURCE = 'rest';

type Json = Record<string, unknown>;

function need(stream: RestStream, paging: RestPaging, field: keyof RestPaging): string {
  const value = paging[field];
  if (typeof value !== 'string' || value === '') {
    throw new SourceError(SOURCE, `stream ${stream.name}: paging ${paging.type} needs paging.${String(field)}`, { kind: 'config' });
  }
  return value;
}

/** With a page-size parameter, the first request asks for `pageSize` records. */
const sized = (paginator: Paginator, p: RestPaging): Paginator =>
  p.pageSizeParam ? { ...paginator, start: (req) => withQuery(req, { [p.pageSizeParam!]: p.pageSize }) } : paginator;

const PAGINATORS: Record<PagingType, (stream: RestStream, p: RestPaging) => Paginator> = {
  none: () => noPaginator,
  link_header: (_s, p) => sized(linkHeaderPaginator(), p),
  odata_next_link: (_s, p) => sized(odataNextLinkPaginator(), p),
  body_cursor: (s, p) => sized(bodyCursorPaginator({ cursorPath: need(s, p, 'cursorPath'), param: need(s, p, 'cursorParam'), in: s.method === 'POST' ? 'body' : 'query' }), p),
  next_url: (s, p) => sized(nextUrlInBodyPaginator(need(s, p, 'nextUrlPath')), p),
  offset: (_s, p) => offsetPaginator({ pageSize: p.pageSize, limitParam: p.limitParam, offsetParam: p.offsetParam, totalPath: p.totalPath }),
  page_number: (_s, p) => pageNumberPaginator({ pageSize: p.pageSize, pageParam: p.pageParam, sizeParam: p.sizeParam, start: p.startPage, totalPath: p.totalPath }),
  checkpoint: (_s, p) => checkpointPaginator({ pageSize: p.pageSize, fromParam: p.fromParam, takeParam: p.takeParam, nextPath: p.nextPath }),
};

export function paginatorFor(stream: RestStream): Paginator {
  return PAGINATORS[stream.paging.type](stream, stream.paging);
}

export class RestClient {
  readonly http: Requester;

  constructor(
    readonly config: RestConfig,
    ctx: Pick<ConnectorContext, 'signal' | 'networkGuard'>,
    events?: RateLimitEvents,
  ) {
    this.http = new Requester({
      source: SOURCE,
      baseUrl: config.baseUrl,
      auth: authFromConfig(SOURCE, config),
      rateLimit: rateLimitFromConfig(config.rateLimit, `${SOURCE}|${new URL(config.baseUrl).origin}`),
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
      headers: config.extraHeaders,
      networkGuard: ctx.networkGuard,
      signal: ctx.signal,
      onRateLimited: events?.onRateLimited,
    });
  }

  stream(name: string): RestStream {
    const found = this.config.streams.find((s) => s.name === name);
    if (!found) throw new SourceError(SOURCE, `stream ${name} is not configured (configured: ${this.config.streams.map((s) => s.name).join(', ')})`, { kind: 'config' });
    return found;
  }

  /** The stream's first request; `since` goes into the incremental parameter. */
  firstRequest(stream: RestStream, since?: unknown): HttpRequest {
    const query: Record<string, string> = { ...stream.query };
    if (stream.incremental && since !== undefined && since !== null) query[stream.incremental.requestParam] = String(since);
    return { method: stream.method, url: stream.path, query, ...(stream.body !== undefined ? { body: stream.body } : {}) };
  }

  /** The stream's records, one page at a time. */
  pages(stream: RestStream, since?: unknown): AsyncGenerator<Json[]> {
    return this.http.paginate<Json>(this.firstRequest(stream, since), paginatorFor(stream), jsonPathSelector<Json>(stream.recordSelector, { source: SOURCE }));
  }
}
