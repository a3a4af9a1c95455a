/**
 * Okta as an identity source: users, groups and group memberships, incremental by lastUpdated,
 * paged by Link headers, inside the org's per-endpoint rate limits; Event Hooks for near-real-time
 * changes.
 */
import { SourceError } from '../sdk/errors.ts';
import { defineConnector, type ConnectorContext } from '../sdk/types.ts';
import { OktaClient } from './client.ts';
import { discoverOkta } from './discover.ts';
import { readOkta } from './read.ts';
import { oktaSpec, orgBase, parseOktaConfig, SOURCE } from './spec.ts';
import { oktaWebhooks } from './webhooks.ts';

export { parseOktaConfig };

/** the scope an endpoint needs (named in a permission error) */
const SCOPE_OF = { '/api/v1/users': 'okta.users.read', '/api/v1/groups': 'okta.groups.read' } as const;

/**
 * Proves the credentials and both read permissions with one cheap read of each listing:
 * 401 E0000011 → auth; 403 E0000006 → permission, naming the scope (OAuth) or the admin role.
 */
async function checkOkta(raw: unknown, ctx: ConnectorContext): Promise<Record<string, unknown>> {
  const cfg = parseOktaConfig(raw);
  const client = new OktaClient(cfg, ctx);
  const proven: Record<string, unknown> = { org: client.base, authMethod: cfg.authMethod };
  for (const path of ['/api/v1/users', '/api/v1/groups'] as const) {
    try {
      proven[path === '/api/v1/users' ? 'canReadUsers' : 'canReadGroups'] = (await client.probe(path)) >= 0;
    } catch (err) {
      if (err instanceof SourceError && err.kind === 'permission') {
        const scope = SCOPE_OF[path];
        const what = cfg.authMethod === 'api_token' ? `the API token's admin role cannot read ${path} (give its admin a read-only admin role)` : `the token lacks the ${scope} scope (grant ${scope} to the app in Okta: Okta API Scopes)`;
        throw new SourceError(SOURCE, `${err.message.replace(/^okta: /, '')} — ${what}`, { kind: 'permission', cause: err, detail: { ...err.detail, missingScope: cfg.authMethod === 'api_token' ? undefined : scope } });
      }
      throw err;
    }
  }
  return proven;
}

/** verbs take the config as stored (secrets merged back) and parse it themselves */
export default defineConnector<Record<string, unknown>>({
  type: 'okta',
  displayName: 'Okta',
  category: 'identity',
  description: 'Okta users, groups and group memberships (API token, OAuth service app or admin consent), incremental, with Event Hooks.',
  spec: oktaSpec,
  templates: [
    { id: 'api_token', name: 'API token', description: 'An SSWS token of a read-only admin', config: { orgUrl: 'https://<your-org>.okta.com', authMethod: 'api_token' } },
    { id: 'service_app', name: 'API service app', description: 'Client credentials with a private key (private_key_jwt)', config: { orgUrl: 'https://<your-org>.okta.com', authMethod: 'service_app', scopes: ['okta.users.read', 'okta.groups.read'] } },
  ],
  targets: (config) => [new URL(orgBase(parseOktaConfig(config).orgUrl)).hostname.replace(/^\[(.*)\]$/, '$1')],
  check: checkOkta,
  async discover(raw, ctx) {
    return discoverOkta(new OktaClient(parseOktaConfig(raw), ctx));
  },
  async *read(raw, catalog, ctx) {
    const cfg = parseOktaConfig(raw);
    yield* readOkta(new OktaClient(cfg, ctx), cfg, catalog.streams, ctx);
  },
  webhooks: oktaWebhooks,
});
