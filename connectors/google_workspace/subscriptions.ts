/**
 * Watch channels on the customer's users, one per watched event (`users/watch?event=…`), with the
 * connection's channel token and the service's webhook URL. Google channels cannot be extended:
 * `ensure` opens fresh channels, then stops the previous ones (a short overlap rather than a gap);
 * a failure half-way stops what it opened. Renewed when a fifth of their life is left (at least
 * ten minutes, at most half their lifetime, before expiry).
 */
import crypto from 'node:crypto';
import { earliest, renewalTime } from '../sdk/subscription-helpers.ts';
import type { SubscriptionManager, SubscriptionState } from '../sdk/types.ts';
import { GoogleDirectoryClient, type Channel } from './client.ts';
import type { GoogleWorkspaceConfig, ServiceAccountKey } from './spec.ts';

interface ChannelsData {
  callbackUrl: string;
  lifetimeMs: number;
  channels: Array<Channel & { event: string }>;
}

const channelsOf = (state: SubscriptionState | undefined): ChannelsData['channels'] => {
  const c = (state?.data as Partial<ChannelsData> | undefined)?.channels;
  return Array.isArray(c) ? c : [];
};

export function googleWorkspaceSubscriptions(parse: (raw: unknown) => GoogleWorkspaceConfig & { key: ServiceAccountKey }): SubscriptionManager<GoogleWorkspaceConfig> {
  return {
    enabled: (config) => config.pushNotifications === true,

    async ensure(raw, ctx, { callbackUrl, current }) {
      const cfg = parse(raw);
      const client = new GoogleDirectoryClient(cfg, ctx);
      const lifetimeMs = cfg.channelLifetimeHours * 3_600_000;
      const opened: ChannelsData['channels'] = [];
      try {
        for (const event of cfg.watchEvents) {
          const ch = await client.watchUsers(event, { id: `pip-${crypto.randomUUID()}`, address: callbackUrl, token: cfg.channelToken!, expiration: Date.now() + lifetimeMs });
          opened.push({ ...ch, event });
        }
      } catch (err) {
        for (const ch of opened) await client.stopChannel(ch).catch(() => undefined);
        throw err;
      }
      for (const ch of channelsOf(current)) await client.stopChannel(ch).catch((err: unknown) => ctx.logger.warn({ channel: ch.id, err: (err as Error).message }, 'old watch channel not stopped; it will expire'));
      const data: ChannelsData = { callbackUrl, lifetimeMs, channels: opened };
      return { expiresAt: earliest(opened.map((c) => c.expiration)), data: { ...data } };
    },

    renewBefore: (state) => renewalTime(state.expiresAt, Number((state.data as Partial<ChannelsData>).lifetimeMs ?? 6 * 3_600_000), 600_000),

    async remove(raw, ctx, state) {
      const client = new GoogleDirectoryClient(parse(raw), ctx);
      for (const ch of channelsOf(state)) await client.stopChannel(ch);
    },
  };
}
