/** The generic REST connector: declarative streams over any JSON API (registry entry). */
import { httpTargets } from '../sdk/http/http-config.ts';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { defineConnector } from '../sdk/types.ts';
import { RestClient, SOURCE } from './client.ts';
import { checkRest, discoverRest } from './discover.ts';
import { readRest } from './read.ts';
import { RestConfig, restSpec } from './spec.ts';

export function parseRestConfig(raw: unknown): RestConfig {
  return parseConnectorConfig(RestConfig, raw, SOURCE);
}

export default defineConnector<RestConfig>({
  type: 'rest',
  displayName: 'REST API (generic)',
  category: 'api',
  description: 'Any JSON API described declaratively: streams with paths, record selectors, keys, paging, incremental cursors and rate limits.',
  spec: restSpec,
  templates: [
    {
      id: 'github-style',
      name: 'GitHub-style API (Link header paging)',
      description: 'Bearer token, page/per_page with RFC 8288 Link headers, x-ratelimit-* headers, incremental by `since`.',
      config: {
        baseUrl: 'https://api.github.com',
        authType: 'bearer',
        extraHeaders: { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
        streams: [
          {
            name: 'members',
            path: '/orgs/<org>/members',
            recordSelector: '$',
            primaryKey: ['id'],
            paging: { type: 'link_header', pageSize: 100, pageSizeParam: 'per_page' },
          },
          {
            name: 'repos',
            path: '/orgs/<org>/repos',
            query: { sort: 'updated', direction: 'asc' },
            recordSelector: '$',
            primaryKey: ['id'],
            paging: { type: 'link_header', pageSize: 100, pageSizeParam: 'per_page' },
          },
        ],
        rateLimit: { statuses: [429], resetHeaders: ['x-ratelimit-reset'], remainingHeaders: ['x-ratelimit-remaining'], lowWater: 50 },
      },
    },
    {
      id: 'cursor-api',
      name: 'Cursor-paged API with an API key',
      description: 'X-API-Key header, `{ data, meta.next_cursor }` bodies, incremental by `updated_since`.',
      config: {
        authType: 'api_key',
        apiKeyIn: 'header',
        apiKeyName: 'X-API-Key',
        streams: [
          {
            name: 'users',
            path: '/users',
            recordSelector: '$.data',
            primaryKey: ['id'],
            paging: { type: 'body_cursor', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor', pageSizeParam: 'limit', pageSize: 100 },
            incremental: { cursorField: 'updated_at', requestParam: 'updated_since' },
          },
        ],
      },
    },
  ],
  targets: (config) => {
    const c = parseRestConfig(config);
    return httpTargets([c.baseUrl, ...c.streams.map((s) => (/^https?:/i.test(s.path) ? s.path : undefined))], c);
  },
  async check(config, ctx) {
    return checkRest(new RestClient(parseRestConfig(config), ctx));
  },
  async discover(config, ctx) {
    return { streams: await discoverRest(new RestClient(parseRestConfig(config), ctx)) };
  },
  async *read(config, catalog, ctx) {
    yield* readRest(parseRestConfig(config), catalog, ctx);
  },
});
