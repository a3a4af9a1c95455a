/**
 * Paginators: how to get from one page to the next, as strategy objects. Each one answers, given
 * the request just sent and its response, the next request — or undefined when the listing is
 * done. `start` shapes the first request (page size, first page); `end` tells what the last page
 * leaves for the next run (an OData delta link).
 *
 *   linkHeaderPaginator()       RFC 8288 `Link: <…>; rel="next"` (Okta, GitHub)
 *   odataNextLinkPaginator()    `@odata.nextLink`; `@odata.deltaLink` surfaced by `end` (Graph)
 *   bodyCursorPaginator()       a cursor in the body sent back as a parameter (Google `nextPageToken`)
 *   offsetPaginator()           limit / offset
 *   pageNumberPaginator()       page / per_page, optionally stopping at a total (Auth0 include_totals)
 *   nextUrlInBodyPaginator()    a full next URL in the body (`next`, `links.next`, `paging.next`)
 *   checkpointPaginator()       Auth0 `from` / `take` with `next` in the body
 *   noPaginator                 a single page
 */
import { readJsonPath } from './json-path.ts';
import type { HttpRequest, HttpResponse, QueryValue } from './types.ts';

export interface PageContext {
  request: HttpRequest;
  response: HttpResponse<unknown>;
  /** how many records the selector found on this page */
  records: number;
}

export interface Paginator {
  readonly name: string;
  start?(request: HttpRequest): HttpRequest;
  next(page: PageContext): HttpRequest | undefined;
  end?(page: PageContext): Record<string, unknown> | undefined;
}

export function withQuery(request: HttpRequest, params: Record<string, QueryValue>): HttpRequest {
  return { ...request, query: { ...request.query, ...params } };
}

/**
 * Where a paginator reads and writes its parameters: the query string (default), the JSON body,
 * or one object inside it (`jsonBodyField('variables')` for GraphQL variables).
 */
export interface RequestParams {
  get(request: HttpRequest, name: string): unknown;
  with(request: HttpRequest, values: Record<string, string | number>): HttpRequest;
}

export const queryParams: RequestParams = {
  get: (request, name) => request.query?.[name],
  with: (request, values) => withQuery(request, values),
};

const bodyObject = (request: HttpRequest): Record<string, unknown> =>
  request.body !== null && typeof request.body === 'object' && !Array.isArray(request.body) && !(request.body instanceof URLSearchParams) ? (request.body as Record<string, unknown>) : {};

export const jsonBodyParams: RequestParams = {
  get: (request, name) => bodyObject(request)[name],
  with: (request, values) => ({ ...request, body: { ...bodyObject(request), ...values } }),
};

export function jsonBodyField(field: string): RequestParams {
  const inner = (request: HttpRequest): Record<string, unknown> => {
    const v = bodyObject(request)[field];
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  };
  return {
    get: (request, name) => inner(request)[name],
    with: (request, values) => ({ ...request, body: { ...bodyObject(request), [field]: { ...inner(request), ...values } } }),
  };
}

/** A follow-up request to a complete URL the provider gave (its query already in it). */
function followUrl(request: HttpRequest, response: HttpResponse<unknown>, link: string): HttpRequest {
  return { method: request.method, url: new URL(link, response.url).toString(), headers: request.headers, responseType: request.responseType };
}

function paramNumber(params: RequestParams, request: HttpRequest, name: string, fallback: number): number {
  const v = params.get(request, name);
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function nonEmptyString(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function totalOf(body: unknown, totalPath: string | undefined): number | undefined {
  if (!totalPath) return undefined;
  const t = Number(readJsonPath(body, totalPath));
  return Number.isFinite(t) ? t : undefined;
}

/** The links of an RFC 8288 `Link` header by relation type (`rel="next last"` counts for both). */
export function parseLinkHeader(header: string | null | undefined): Map<string, string> {
  const links = new Map<string, string>();
  if (!header) return links;
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(header[i]!)) i++;
  };
  while (i < n) {
    skipSpace();
    if (header[i] !== '<') {
      // not a link-value: skip to the next top-level comma
      while (i < n && header[i] !== ',') i++;
      i++;
      continue;
    }
    const close = header.indexOf('>', i);
    if (close < 0) break;
    const target = header.slice(i + 1, close).trim();
    i = close + 1;
    const rels: string[] = [];
    // parameters: ; name [= token | "quoted"]
    for (;;) {
      skipSpace();
      if (header[i] !== ';') break;
      i++;
      skipSpace();
      let name = '';
      while (i < n && !/[\s=;,]/.test(header[i]!)) name += header[i++];
      skipSpace();
      let value = '';
      if (header[i] === '=') {
        i++;
        skipSpace();
        if (header[i] === '"') {
          i++;
          while (i < n && header[i] !== '"') {
            if (header[i] === '\\') i++;
            value += header[i++] ?? '';
          }
          i++;
        } else {
          while (i < n && !/[;,]/.test(header[i]!)) value += header[i++];
        }
      }
      if (name.toLowerCase() === 'rel') rels.push(...value.trim().toLowerCase().split(/\s+/).filter(Boolean));
    }
    for (const rel of rels) if (!links.has(rel)) links.set(rel, target);
    skipSpace();
    if (header[i] === ',') i++;
  }
  return links;
}

export function linkHeaderPaginator(opts: { rel?: string } = {}): Paginator {
  const rel = (opts.rel ?? 'next').toLowerCase();
  return {
    name: 'link_header',
    next({ request, response }) {
      const next = parseLinkHeader(response.headers.get('link')).get(rel);
      return next ? followUrl(request, response, next) : undefined;
    },
  };
}

export function odataNextLinkPaginator(opts: { nextLinkPath?: string; deltaLinkPath?: string } = {}): Paginator {
  const nextPath = opts.nextLinkPath ?? "$['@odata.nextLink']";
  const deltaPath = opts.deltaLinkPath ?? "$['@odata.deltaLink']";
  return {
    name: 'odata_next_link',
    next({ request, response }) {
      const next = nonEmptyString(readJsonPath(response.body, nextPath));
      return next ? followUrl(request, response, next) : undefined;
    },
    end({ response }) {
      const deltaLink = nonEmptyString(readJsonPath(response.body, deltaPath));
      return deltaLink ? { deltaLink } : undefined;
    },
  };
}

export interface BodyCursorOptions {
  /** where the next cursor is in the body, e.g. `nextPageToken` or `$.meta.next_cursor` */
  cursorPath: string;
  /** the parameter that carries it back, e.g. `pageToken` */
  param: string;
  /** send the cursor in the query (default) or as a property of a JSON body */
  in?: 'query' | 'body';
  /** anywhere else, e.g. `jsonBodyField('variables')` */
  params?: RequestParams;
  /** an extra end condition, e.g. `(body) => body.has_more === false` */
  stopWhen?: (body: unknown, page: PageContext) => boolean;
}

export function bodyCursorPaginator(opts: BodyCursorOptions): Paginator {
  return {
    name: 'body_cursor',
    next(page) {
      const cursor = nonEmptyString(readJsonPath(page.response.body, opts.cursorPath));
      if (cursor === undefined || opts.stopWhen?.(page.response.body, page)) return undefined;
      const params = opts.params ?? (opts.in === 'body' ? jsonBodyParams : queryParams);
      return params.with(page.request, { [opts.param]: cursor });
    },
  };
}

export interface OffsetOptions {
  pageSize: number;
  limitParam?: string;
  offsetParam?: string;
  startOffset?: number;
  /** a total in the body (`$.total`) ends the listing exactly; otherwise a short page ends it */
  totalPath?: string;
  params?: RequestParams;
}

export function offsetPaginator(opts: OffsetOptions): Paginator {
  const limitParam = opts.limitParam ?? 'limit';
  const offsetParam = opts.offsetParam ?? 'offset';
  const startOffset = opts.startOffset ?? 0;
  const params = opts.params ?? queryParams;
  return {
    name: 'offset',
    start: (request) => params.with(request, { [limitParam]: opts.pageSize, [offsetParam]: startOffset }),
    next({ request, response, records }) {
      const offset = paramNumber(params, request, offsetParam, startOffset);
      if (records === 0) return undefined;
      const total = totalOf(response.body, opts.totalPath);
      if (total !== undefined ? offset + records >= total : records < opts.pageSize) return undefined;
      return params.with(request, { [offsetParam]: offset + records, [limitParam]: opts.pageSize });
    },
  };
}

export interface PageNumberOptions {
  pageSize: number;
  pageParam?: string;
  sizeParam?: string;
  /** number of the first page: 1 (default) or 0 (Auth0) */
  start?: number;
  totalPath?: string;
  params?: RequestParams;
}

export function pageNumberPaginator(opts: PageNumberOptions): Paginator {
  const pageParam = opts.pageParam ?? 'page';
  const sizeParam = opts.sizeParam ?? 'per_page';
  const first = opts.start ?? 1;
  const params = opts.params ?? queryParams;
  return {
    name: 'page_number',
    start: (request) => params.with(request, { [pageParam]: first, [sizeParam]: opts.pageSize }),
    next({ request, response, records }) {
      const page = paramNumber(params, request, pageParam, first);
      if (records === 0) return undefined;
      const total = totalOf(response.body, opts.totalPath);
      if (total !== undefined ? (page - first + 1) * opts.pageSize >= total : records < opts.pageSize) return undefined;
      return params.with(request, { [pageParam]: page + 1, [sizeParam]: opts.pageSize });
    },
  };
}

export function nextUrlInBodyPaginator(path: string): Paginator {
  return {
    name: 'next_url',
    next({ request, response }) {
      const next = nonEmptyString(readJsonPath(response.body, path));
      return next ? followUrl(request, response, next) : undefined;
    },
  };
}

export interface CheckpointOptions {
  pageSize: number;
  fromParam?: string;
  takeParam?: string;
  nextPath?: string;
  params?: RequestParams;
}

export function checkpointPaginator(opts: CheckpointOptions): Paginator {
  const fromParam = opts.fromParam ?? 'from';
  const takeParam = opts.takeParam ?? 'take';
  const nextPath = opts.nextPath ?? 'next';
  const params = opts.params ?? queryParams;
  return {
    name: 'checkpoint',
    start: (request) => params.with(request, { [takeParam]: opts.pageSize }),
    next({ request, response, records }) {
      const next = nonEmptyString(readJsonPath(response.body, nextPath));
      if (next === undefined || records === 0) return undefined;
      return params.with(request, { [fromParam]: next, [takeParam]: opts.pageSize });
    },
  };
}

export const noPaginator: Paginator = { name: 'none', next: () => undefined };
