/** The Google Workspace connector: Admin SDK Directory API users, groups and members; users pushed by watch channels. */
import { RateLimitEvents } from '../sdk/http/index.ts';
import { defineConnector, type ConnectorContext } from '../sdk/types.ts';
import { GoogleDirectoryClient } from './client.ts';
import { discoverGoogleWorkspace } from './discover.ts';
import { readGoogleWorkspace } from './read.ts';
import { googleWorkspaceSpec, parseGoogleWorkspaceConfig, type GoogleWorkspaceConfig } from './spec.ts';
import { googleWorkspaceSubscriptions } from './subscriptions.ts';
import { googleWorkspaceWebhooks } from './webhooks.ts';

export { parseGoogleWorkspaceConfig };

const client = (config: GoogleWorkspaceConfig, ctx: ConnectorContext, events?: RateLimitEvents) => new GoogleDirectoryClient(parseGoogleWorkspaceConfig(config), ctx, events);

export default defineConnector<GoogleWorkspaceConfig>({
  type: 'google_workspace',
  displayName: 'Google Workspace',
  category: 'identity',
  description: 'Users, groups and members from the Admin SDK Directory API with a service account (domain-wide delegation); user changes pushed through watch channels.',
  spec: googleWorkspaceSpec,
  templates: [
    {
      id: 'google-workspace-dwd',
      name: 'Service account with domain-wide delegation',
      description: 'Read-only directory scopes delegated to the service account, impersonating an admin.',
      config: { customer: 'my_customer', readCustomSchemas: false, pushNotifications: false },
    },
  ],
  targets(config) {
    const cfg = parseGoogleWorkspaceConfig(config);
    return [...new Set([new URL(cfg.key.token_uri).hostname, new URL(cfg.apiUrl).hostname])];
  },

  async check(config, ctx) {
    const c = client(config, ctx);
    let users = 0;
    for await (const page of c.list('/users', 'users', { customer: c.cfg.customer, maxResults: 1 })) {
      users = page.length;
      break;
    }
    for await (const _ of c.list('/groups', 'groups', { customer: c.cfg.customer, maxResults: 1 })) break;
    return { serviceAccount: c.cfg.key.client_email, impersonating: c.cfg.adminEmail, customer: c.cfg.customer, usersVisible: users > 0, canReadGroups: true };
  },

  async discover(config, ctx) {
    return discoverGoogleWorkspace(client(config, ctx), ctx);
  },

  async *read(config, catalog, ctx) {
    const events = new RateLimitEvents();
    yield* readGoogleWorkspace(client(config, ctx, events), catalog, ctx, events);
  },

  webhooks: googleWorkspaceWebhooks,
  subscriptions: googleWorkspaceSubscriptions(parseGoogleWorkspaceConfig),
});
