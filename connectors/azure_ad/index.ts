/** The Microsoft Entra ID (Azure AD) connector: Microsoft Graph v1.0 users, groups and memberships. */
import { RateLimitEvents } from '../sdk/http/index.ts';
import { defineConnector } from '../sdk/types.ts';
import { GraphClient, permissionHint } from './client.ts';
import { discoverAzureAd } from './discover.ts';
import { readAzureAd } from './read.ts';
import { azureAdSpec, parseAzureAdConfig, type AzureAdConfig } from './spec.ts';
import { azureAdSubscriptions } from './subscriptions.ts';
import { azureAdWebhooks } from './webhooks.ts';

export { parseAzureAdConfig };

const hosts = (cfg: AzureAdConfig): string[] => [...new Set([new URL(cfg.authorityUrl).hostname, new URL(cfg.graphUrl).hostname])];

export default defineConnector<AzureAdConfig>({
  type: 'azure_ad',
  displayName: 'Microsoft Entra ID (Azure AD)',
  category: 'identity',
  description: 'Users, groups and memberships from Microsoft Graph, kept current with delta queries and change notifications.',
  spec: azureAdSpec,
  templates: [
    {
      id: 'azure-ad-secret',
      name: 'App registration with a client secret',
      description: 'Application permissions User.Read.All, Group.Read.All and GroupMember.Read.All, admin consent granted.',
      config: { authMethod: 'client_secret', transitiveMembers: false, changeNotifications: false },
    },
    {
      id: 'azure-ad-certificate-webhooks',
      name: 'Certificate credential with change notifications',
      description: 'A certificate instead of a secret, and Graph change notifications for near-real-time updates.',
      config: { authMethod: 'certificate', changeNotifications: true },
    },
  ],
  targets: (config) => hosts(parseAzureAdConfig(config)),

  async check(config, ctx) {
    const client = new GraphClient(parseAzureAdConfig(config), ctx);
    const probe = async (path: string, permission: string) => {
      try {
        for await (const page of client.list(path, { $top: 1, $select: 'id' })) return page[0]?.id;
      } catch (err) {
        throw permissionHint(err, permission);
      }
      return undefined;
    };
    await probe('/users', 'User.Read.All');
    const groupId = await probe('/groups', 'Group.Read.All');
    if (groupId) {
      try {
        for await (const _ of client.members(groupId, false)) break;
      } catch (err) {
        throw permissionHint(err, 'GroupMember.Read.All');
      }
    }
    return { tenantId: client.cfg.tenantId, canReadUsers: true, canReadGroups: true, canReadMembers: groupId !== undefined ? true : 'no group to test with' };
  },

  async discover(config, ctx) {
    return discoverAzureAd(new GraphClient(parseAzureAdConfig(config), ctx), ctx);
  },

  async *read(config, catalog, ctx) {
    const events = new RateLimitEvents();
    yield* readAzureAd(new GraphClient(parseAzureAdConfig(config), ctx, events), catalog, ctx, events);
  },

  webhooks: azureAdWebhooks,
  subscriptions: azureAdSubscriptions(parseAzureAdConfig),
});
