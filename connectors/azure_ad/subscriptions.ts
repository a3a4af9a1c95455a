/**
 * Graph change-notification subscriptions for users and groups (changeType `updated,deleted`),
 * created with the connection's clientState and the service's webhook URL as both notification
 * and lifecycle URL. `ensure` renews the ones it has (PATCH expirationDateTime), recreates those
 * Graph lost (404 on renew, or a new callback URL) and creates what is missing; they are renewed
 * when a fifth of their lifetime is left (at least an hour, at most half their lifetime, before expiry).
 */
import { earliest, renewalTime } from '../sdk/subscription-helpers.ts';
import type { ConnectorContext, SubscriptionManager, SubscriptionState } from '../sdk/types.ts';
import { GraphClient, type GraphSubscription } from './client.ts';
import type { AzureAdConfig } from './spec.ts';

const RESOURCES = ['users', 'groups'] as const;

interface GraphSubscriptionsData {
  callbackUrl: string;
  lifetimeMinutes: number;
  subscriptions: Array<{ id: string; resource: string; expiresAt: string }>;
}

function data(state: SubscriptionState | undefined): GraphSubscriptionsData | undefined {
  const d = state?.data as Partial<GraphSubscriptionsData> | undefined;
  return d && Array.isArray(d.subscriptions) && typeof d.callbackUrl === 'string' ? (d as GraphSubscriptionsData) : undefined;
}

export function azureAdSubscriptions(parse: (raw: unknown) => AzureAdConfig): SubscriptionManager<AzureAdConfig> {
  return {
    enabled: (config) => config.changeNotifications === true,

    async ensure(raw, ctx: ConnectorContext, { callbackUrl, current }) {
      const cfg = parse(raw);
      const client = new GraphClient(cfg, ctx);
      const expirationDateTime = new Date(Date.now() + cfg.subscriptionLifetimeMinutes * 60_000).toISOString();
      const previous = data(current);
      const moved = previous !== undefined && previous.callbackUrl !== callbackUrl;
      const kept: GraphSubscription[] = [];
      for (const resource of RESOURCES) {
        const existing = previous?.subscriptions.find((s) => s.resource === resource);
        let sub: GraphSubscription | undefined;
        if (existing && moved) await client.deleteSubscription(existing.id);
        else if (existing) sub = await client.renewSubscription(existing.id, expirationDateTime);
        sub ??= await client.createSubscription({
          changeType: 'updated,deleted',
          notificationUrl: callbackUrl,
          lifecycleNotificationUrl: callbackUrl,
          resource,
          expirationDateTime,
          clientState: cfg.clientState,
          latestSupportedTlsVersion: 'v1_2',
        });
        kept.push({ ...sub, resource });
      }
      const expiresAt = earliest(kept.map((s) => s.expirationDateTime));
      const out: GraphSubscriptionsData = {
        callbackUrl,
        lifetimeMinutes: cfg.subscriptionLifetimeMinutes,
        subscriptions: kept.map((s) => ({ id: s.id, resource: s.resource, expiresAt: new Date(Date.parse(s.expirationDateTime)).toISOString() })),
      };
      return { expiresAt, data: { ...out } };
    },

    renewBefore: (state) => renewalTime(state.expiresAt, (data(state)?.lifetimeMinutes ?? 4_320) * 60_000, 3_600_000),

    async remove(raw, ctx, state) {
      const client = new GraphClient(parse(raw), ctx);
      for (const s of data(state)?.subscriptions ?? []) await client.deleteSubscription(s.id);
    },
  };
}
