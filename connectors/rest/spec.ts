/**
 * The generic REST connector's config: declarative, like Airbyte's low-code manifests but
 * smaller. A base URL and authentication, then streams, each with a path, query parameters, a
 * record selector (JSON path), a primary key, a paging strategy and an optional incremental
 * cursor (the request parameter that takes the last value of a response field); one rate-limit
 * policy for the API.
 */
import { Type, type Static } from 'typebox';
import { HTTP_AUTH_FIELDS, HTTP_AUTH_KINDS, HttpAuthProperties, RateLimitConfig } from '../sdk/http/http-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const PAGING_TYPES = ['none', 'link_header', 'body_cursor', 'offset', 'page_number', 'next_url', 'checkpoint', 'odata_next_link'] as const;
export type PagingType = (typeof PAGING_TYPES)[number];

const Name = (title: string, fallback: string) => Type.String({ minLength: 1, default: fallback, title });

export const RestPaging = Type.Object(
  {
    type: Type.Union(
      [
        Type.Literal('none'),
        Type.Literal('link_header'),
        Type.Literal('body_cursor'),
        Type.Literal('offset'),
        Type.Literal('page_number'),
        Type.Literal('next_url'),
        Type.Literal('checkpoint'),
        Type.Literal('odata_next_link'),
      ],
      { default: 'none', title: 'Paging strategy' },
    ),
    pageSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, title: 'Records per page (at most the API maximum)' }),
    pageSizeParam: Type.Optional(Type.String({ minLength: 1, title: 'Page size parameter', description: 'link_header / body_cursor / next_url: sent on the first request, e.g. per_page or limit' })),
    limitParam: Name('Limit parameter (offset)', 'limit'),
    offsetParam: Name('Offset parameter (offset)', 'offset'),
    pageParam: Name('Page parameter (page_number)', 'page'),
    sizeParam: Name('Page size parameter (page_number)', 'per_page'),
    startPage: Type.Integer({ minimum: 0, default: 1, title: 'First page number (page_number)' }),
    totalPath: Type.Optional(Type.String({ minLength: 1, title: 'Total count JSON path (offset, page_number)', description: 'e.g. $.total' })),
    cursorPath: Type.Optional(Type.String({ minLength: 1, title: 'Next cursor JSON path (body_cursor)', description: 'e.g. $.meta.next_cursor' })),
    cursorParam: Type.Optional(Type.String({ minLength: 1, title: 'Cursor parameter (body_cursor)', description: 'e.g. cursor, pageToken' })),
    nextUrlPath: Type.Optional(Type.String({ minLength: 1, title: 'Next URL JSON path (next_url)', description: 'e.g. $.links.next' })),
    fromParam: Name('From parameter (checkpoint)', 'from'),
    takeParam: Name('Take parameter (checkpoint)', 'take'),
    nextPath: Name('Next checkpoint JSON path (checkpoint)', 'next'),
  },
  { default: {}, title: 'Paging' },
);
export type RestPaging = Static<typeof RestPaging>;

export const RestIncremental = Type.Object(
  {
    cursorField: Type.String({ minLength: 1, title: 'Cursor field in the records', description: 'e.g. updated_at (dot paths for nested fields)' }),
    requestParam: Type.String({ minLength: 1, title: 'Request parameter taking the last cursor value', description: 'e.g. updated_since, since' }),
  },
  { title: 'Incremental reads' },
);

export const RestStream = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$', title: 'Stream name' }),
  path: Type.String({ minLength: 1, title: 'Path under the base URL (or a full URL on the same host)' }),
  method: Type.Union([Type.Literal('GET'), Type.Literal('POST')], { default: 'GET', title: 'HTTP method' }),
  query: Type.Record(Type.String(), Type.String(), { default: {}, title: 'Query parameters' }),
  body: Type.Optional(Type.Unknown({ title: 'JSON body (POST)' })),
  recordSelector: Type.String({ minLength: 1, default: '$', title: 'Record selector (JSON path)', description: '$, $.data, $.items[*], …' }),
  primaryKey: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['id'], title: 'Primary key fields' }),
  paging: RestPaging,
  incremental: Type.Optional(RestIncremental),
});
export type RestStream = Static<typeof RestStream>;

export const RestConfig = Type.Object({
  baseUrl: Type.String({ format: 'uri', pattern: '^https?://', title: 'Base URL', description: 'e.g. https://api.example.com/v2' }),
  ...HttpAuthProperties,
  streams: Type.Array(RestStream, { minItems: 1, title: 'Streams' }),
  rateLimit: RateLimitConfig,
  sampleSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 200, title: 'Records sampled per stream to infer fields' }),
  timeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, title: 'Request timeout (ms)' }),
  maxRetries: Type.Integer({ minimum: 0, maximum: 10, default: 5, title: 'Retries after server errors' }),
});
export type RestConfig = Static<typeof RestConfig>;

export const restSpec: ConnectorSpec = {
  config: RestConfig,
  authKinds: HTTP_AUTH_KINDS,
  steps: [
    { id: 'connection', title: 'API', description: 'The base URL every stream path is relative to.', fields: ['baseUrl'] },
    { id: 'authentication', title: 'Authentication', fields: HTTP_AUTH_FIELDS },
    { id: 'streams', title: 'Streams', description: 'One entry per list endpoint: path, record selector, key, paging, incremental cursor.', fields: ['streams'] },
    { id: 'limits', title: 'Rate limits and sampling', fields: ['rateLimit', 'sampleSize', 'timeoutMs', 'maxRetries'] },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: false },
  documentationUrl: 'docs/connectors/rest.md',
};
