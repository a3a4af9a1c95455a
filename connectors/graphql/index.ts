/** The GraphQL connector: schema as data (introspection or SDL) and resource queries (registry entry). */
import { httpTargets } from '../sdk/http/http-config.ts';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { defineConnector } from '../sdk/types.ts';
import { GraphqlClient, SOURCE } from './client.ts';
import { discoverGraphql } from './discover.ts';
import { readGraphql } from './read.ts';
import { namedTypes } from './schema-streams.ts';
import { GraphqlConfig, graphqlSpec } from './spec.ts';

export function parseGraphqlConfig(raw: unknown): GraphqlConfig {
  return parseConnectorConfig(GraphqlConfig, raw, SOURCE);
}

export default defineConnector<GraphqlConfig>({
  type: 'graphql',
  displayName: 'GraphQL API',
  category: 'api',
  description: 'A GraphQL schema as data (types, fields, arguments, enums, interfaces, directives) and resource data read with configured queries, Relay or offset paged.',
  spec: graphqlSpec,
  templates: [
    {
      id: 'relay-users',
      name: 'Relay-paged users',
      description: 'Bearer token, introspection, a users connection read 100 at a time.',
      config: {
        authType: 'bearer',
        schemaSource: 'introspection',
        streams: [
          {
            name: 'users',
            query: 'query Users($first: Int, $after: String) { users(first: $first, after: $after) { edges { node { id email name } } pageInfo { hasNextPage endCursor } } }',
            recordsPath: '$.data.users',
            paging: 'relay',
            pageSize: 100,
          },
        ],
      },
    },
  ],
  targets: (config) => {
    const c = parseGraphqlConfig(config);
    return httpTargets([c.endpoint], c);
  },
  async check(config, ctx) {
    const client = new GraphqlClient(parseGraphqlConfig(config), ctx);
    if (client.config.endpoint) {
      // a real, cheap call: proves the endpoint speaks GraphQL and accepts the credentials
      const data = await client.query<{ __typename?: string }>('query PipCheck { __typename }');
      const types = client.config.schemaSource === 'sdl' ? namedTypes(await client.schema()).length : undefined;
      return { endpoint: new URL(client.config.endpoint).origin, queryType: data.__typename ?? null, ...(types !== undefined ? { sdlTypes: types } : {}) };
    }
    return { sdlTypes: namedTypes(await client.schema()).length };
  },
  async discover(config, ctx) {
    return { streams: await discoverGraphql(new GraphqlClient(parseGraphqlConfig(config), ctx)) };
  },
  async *read(config, catalog, ctx) {
    yield* readGraphql(parseGraphqlConfig(config), catalog, ctx);
  },
});
