/** The OpenAPI connector: an API's operations, security schemes and models as data (registry entry). */
import { httpTargets } from '../sdk/http/http-config.ts';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { defineConnector } from '../sdk/types.ts';
import { OpenApiLoader, SOURCE } from './client.ts';
import { describeDocument, discoverOpenApi } from './discover.ts';
import { readOpenApi } from './read.ts';
import { OpenApiConfig, openApiSpec } from './spec.ts';

export function parseOpenApiConfig(raw: unknown): OpenApiConfig {
  return parseConnectorConfig(OpenApiConfig, raw, SOURCE);
}

export default defineConnector<OpenApiConfig>({
  type: 'openapi',
  displayName: 'OpenAPI / Swagger',
  category: 'api',
  description: 'The operations of an API (Swagger 2.0, OpenAPI 3.0 and 3.1) with the scopes each needs, its security schemes and models: "which scope does DELETE /orders/{id} need" as a data lookup.',
  spec: openApiSpec,
  templates: [
    {
      id: 'public-spec-url',
      name: 'Specification at a URL',
      description: 'A document served by the API itself (e.g. /openapi.json), validated, refs from the same host only.',
      config: { specUrl: 'https://api.example.com/openapi.json', authType: 'none', validate: true },
    },
    {
      id: 'protected-spec-url',
      name: 'Specification behind a bearer token',
      description: 'Internal API gateways often protect their documents; credentials go to the specification host only.',
      config: { specUrl: 'https://gateway.internal.example.com/docs/openapi.yaml', authType: 'bearer', allowedRefHosts: ['schemas.internal.example.com'] },
    },
  ],
  targets: (config) => {
    const c = parseOpenApiConfig(config);
    return httpTargets([c.specUrl, ...c.allowedRefHosts.filter((h) => !h.startsWith('*.')).map((h) => `https://${h}`)], c);
  },
  async check(config, ctx) {
    return describeDocument(await new OpenApiLoader(parseOpenApiConfig(config), ctx).load());
  },
  async discover(config, ctx) {
    return { streams: discoverOpenApi(await new OpenApiLoader(parseOpenApiConfig(config), ctx).load()) };
  },
  async *read(config, catalog, ctx) {
    yield* readOpenApi(parseOpenApiConfig(config), catalog, ctx);
  },
});
