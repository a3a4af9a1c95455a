/**
 * OpenAPI connector config: a specification (Swagger 2.0, OpenAPI 3.0 or 3.1) fetched from a URL
 * with the shared HTTP auth, or uploaded as text; which hosts external `$ref`s may come from.
 */
import { Type, type Static } from 'typebox';
import { HTTP_AUTH_FIELDS, HTTP_AUTH_KINDS, HttpAuthProperties } from '../sdk/http/http-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const OpenApiConfig = Type.Object({
  specUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', title: 'Specification URL', description: 'JSON or YAML; relative $refs resolve against it' })),
  specText: Type.Optional(Type.String({ minLength: 1, title: 'Specification text', description: 'An uploaded document (JSON or YAML), instead of a URL' })),
  ...HttpAuthProperties,
  allowedRefHosts: Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$' }), {
    default: [],
    title: 'Hosts external $refs may come from',
    description: 'Besides the specification URL host; `*.example.com` wildcards allowed. Credentials are sent only to the specification host.',
  }),
  validate: Type.Boolean({ default: true, title: 'Validate against the OpenAPI schema', description: 'Refuse invalid documents (the error names the broken location)' }),
  timeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, title: 'Request timeout (ms)' }),
  maxRetries: Type.Integer({ minimum: 0, maximum: 10, default: 3, title: 'Retries after server errors' }),
});
export type OpenApiConfig = Static<typeof OpenApiConfig>;

export const openApiSpec: ConnectorSpec = {
  config: OpenApiConfig,
  authKinds: HTTP_AUTH_KINDS,
  steps: [
    { id: 'document', title: 'Specification', description: 'A URL, or the document itself.', fields: ['specUrl', 'specText', 'validate'] },
    { id: 'authentication', title: 'Authentication (to fetch the specification)', fields: HTTP_AUTH_FIELDS },
    { id: 'references', title: 'External references and limits', fields: ['allowedRefHosts', 'timeoutMs', 'maxRetries'] },
  ],
  capabilities: { discovery: true, incremental: 'none', webhooks: false, targetedRead: false },
  documentationUrl: 'docs/connectors/openapi.md',
};
