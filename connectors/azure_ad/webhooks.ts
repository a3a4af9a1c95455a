/**
 * Graph change notifications at `/pip/webhooks/azure_ad/{connection_id}`:
 *
 *  - the validation handshake: a request with `?validationToken=…` is answered 200 `text/plain`
 *    with the token (URL-decoded), as Graph requires within 10 s of a subscription create
 *  - every notification's `clientState` is compared (constant time) with the configured secret,
 *    and its `tenantId` with the configured tenant when that is a GUID; one mismatch rejects the
 *    whole delivery
 *  - change notifications → targeted reads: users/groups by id, a group's memberships; deleted
 *    objects are deleted and their edges re-read
 *  - lifecycle notifications: `reauthorizationRequired` and `subscriptionRemoved` ask the
 *    subscriptions service to renew/recreate now; `missed` queues an incremental (delta) read
 *
 * Graph's directory notifications carry no event id, so each gets a fresh one: a redelivery is a
 * harmless second targeted read, never a dropped change.
 */
import crypto from 'node:crypto';
import { secretsEqual } from '../sdk/webhook-verify.ts';
import type { ReadHint, WebhookHandler, WebhookOutcome } from '../sdk/types.ts';
import type { AzureAdConfig } from './spec.ts';

type WebhookEvent = Extract<WebhookOutcome, { kind: 'events' }>['events'][number];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const all = (...streams: string[]): ReadHint[] => streams.map((stream) => ({ stream, keys: [] }));

function changeEvent(item: Record<string, unknown>): WebhookEvent | undefined {
  const resource = String(item.resource ?? '');
  const m = /^\/?(users|groups)\/([^/]+)$/i.exec(resource);
  const data = item.resourceData as Record<string, unknown> | undefined;
  const id = typeof data?.id === 'string' ? data.id : m?.[2];
  if (!m || !id) return undefined;
  const kind = m[1]!.toLowerCase() as 'users' | 'groups';
  const deleted = item.changeType === 'deleted';
  const base = { id: `graph:${String(item.subscriptionId ?? '')}:${crypto.randomUUID()}`, type: `${kind}.${String(item.changeType ?? 'updated')}` };
  if (kind === 'users') {
    return deleted
      ? { ...base, hints: [{ stream: 'memberships', keys: [{ member_id: id }] }], deletes: [{ stream: 'users', keys: [{ id }] }] }
      : { ...base, hints: [{ stream: 'users', keys: [{ id }] }] };
  }
  return deleted
    ? { ...base, hints: [{ stream: 'memberships', keys: [{ group_id: id }] }], deletes: [{ stream: 'groups', keys: [{ id }] }] }
    : { ...base, hints: [{ stream: 'groups', keys: [{ id }] }, { stream: 'memberships', keys: [{ group_id: id }] }] };
}

function lifecycleEvent(item: Record<string, unknown>): WebhookEvent {
  const event = String(item.lifecycleEvent);
  const base = { id: `graph:${String(item.subscriptionId ?? '')}:${event}:${crypto.randomUUID()}`, type: `subscription.${event}` };
  if (event === 'missed') return { ...base, hints: all('users', 'groups', 'memberships') };
  // reauthorizationRequired, subscriptionRemoved: renew (or recreate) the subscription, then
  // catch up on what may have been lost meanwhile
  return { ...base, hints: event === 'subscriptionRemoved' ? all('users', 'groups', 'memberships') : [], renewSubscription: true };
}

export const azureAdWebhooks: WebhookHandler<AzureAdConfig> = {
  async handle(config, req) {
    const token = req.query.validationToken;
    if (typeof token === 'string' && token !== '') {
      if (token.length > 1024) return { kind: 'rejected', status: 400, reason: 'validation token too long' };
      return { kind: 'handshake', status: 200, contentType: 'text/plain; charset=utf-8', body: token };
    }
    if (req.method !== 'POST') return { kind: 'rejected', status: 405, reason: 'notifications arrive as POST' };
    if (!config.clientState) return { kind: 'rejected', status: 403, reason: 'change notifications are not configured for this connection (no clientState)' };
    const value = (req.body as { value?: unknown } | undefined)?.value;
    if (!Array.isArray(value)) return { kind: 'rejected', status: 400, reason: 'not a Graph notification collection' };
    const events: WebhookEvent[] = [];
    for (const raw of value) {
      const item = (raw ?? {}) as Record<string, unknown>;
      if (!secretsEqual(typeof item.clientState === 'string' ? item.clientState : undefined, config.clientState)) {
        return { kind: 'rejected', status: 403, reason: 'clientState does not match' };
      }
      if (GUID.test(config.tenantId) && typeof item.tenantId === 'string' && item.tenantId.toLowerCase() !== config.tenantId.toLowerCase()) {
        return { kind: 'rejected', status: 403, reason: 'notification for another tenant' };
      }
      const event = item.lifecycleEvent !== undefined ? lifecycleEvent(item) : changeEvent(item);
      if (event) events.push(event);
    }
    return { kind: 'events', events };
  },
};
