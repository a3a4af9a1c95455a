/**
 * GraphQL connector config: an endpoint (with the shared HTTP auth) whose schema is read by live
 * introspection, or an SDL document; and resource streams, each a query whose records sit at a
 * JSON path of the answer, paged by Relay connections or offset variables.
 */
import { Type, type Static } from 'typebox';
import { HTTP_AUTH_FIELDS, HTTP_AUTH_KINDS, HttpAuthProperties, RateLimitConfig } from '../sdk/http/http-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

const Variable = (title: string, fallback: string) => Type.String({ pattern: '^[_A-Za-z][_0-9A-Za-z]*$', default: fallback, title });

export const GraphqlStream = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$', title: 'Stream name' }),
  query: Type.String({ minLength: 1, title: 'Query', description: 'Declares the paging variables, e.g. query($first: Int, $after: String) { users(first: $first, after: $after) { … } }' }),
  recordsPath: Type.String({ minLength: 1, title: 'Records path', description: 'JSON path to the Relay connection (relay) or the list (offset, none), e.g. $.data.users' }),
  paging: Type.Union([Type.Literal('relay'), Type.Literal('offset'), Type.Literal('none')], { default: 'relay', title: 'Paging' }),
  pageSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, title: 'Records per page' }),
  firstVariable: Variable('Page size variable (relay)', 'first'),
  afterVariable: Variable('Cursor variable (relay)', 'after'),
  limitVariable: Variable('Limit variable (offset)', 'limit'),
  offsetVariable: Variable('Offset variable (offset)', 'offset'),
  variables: Type.Record(Type.String(), Type.Unknown(), { default: {}, title: 'Other variables' }),
  primaryKey: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['id'], title: 'Primary key fields' }),
  incremental: Type.Optional(
    Type.Object(
      {
        cursorField: Type.String({ minLength: 1, title: 'Cursor field in the records', description: 'e.g. updatedAt' }),
        variable: Type.String({ pattern: '^[_A-Za-z][_0-9A-Za-z]*$', title: 'Variable taking the last cursor value', description: 'e.g. updatedSince' }),
      },
      { title: 'Incremental reads' },
    ),
  ),
});
export type GraphqlStream = Static<typeof GraphqlStream>;

export const GraphqlConfig = Type.Object({
  endpoint: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', title: 'GraphQL endpoint', description: 'e.g. https://api.example.com/graphql' })),
  ...HttpAuthProperties,
  schemaSource: Type.Union([Type.Literal('introspection'), Type.Literal('sdl')], { default: 'introspection', title: 'Schema from', description: 'live introspection of the endpoint, or an SDL document' }),
  sdl: Type.Optional(Type.String({ minLength: 1, title: 'Schema (SDL)', description: 'For endpoints that do not allow introspection' })),
  streams: Type.Array(GraphqlStream, { default: [], title: 'Resource streams' }),
  rateLimit: RateLimitConfig,
  sampleSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, title: 'Records sampled per stream to infer fields' }),
  timeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, title: 'Request timeout (ms)' }),
  maxRetries: Type.Integer({ minimum: 0, maximum: 10, default: 5, title: 'Retries after server errors' }),
});
export type GraphqlConfig = Static<typeof GraphqlConfig>;

export const graphqlSpec: ConnectorSpec = {
  config: GraphqlConfig,
  authKinds: HTTP_AUTH_KINDS,
  steps: [
    { id: 'endpoint', title: 'Endpoint and schema', fields: ['endpoint', 'schemaSource', 'sdl'] },
    { id: 'authentication', title: 'Authentication', fields: HTTP_AUTH_FIELDS },
    { id: 'streams', title: 'Resource streams', description: 'Queries that read resource data, with their paging.', fields: ['streams'] },
    { id: 'limits', title: 'Rate limits and sampling', fields: ['rateLimit', 'sampleSize', 'timeoutMs', 'maxRetries'] },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: false },
  documentationUrl: 'docs/connectors/graphql.md',
};
