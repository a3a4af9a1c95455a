/**
 * Okta Event Hooks.
 *
 * - Verification: when the hook is registered (or re-verified) Okta sends one GET carrying
 *   `X-Okta-Verification-Challenge`; the answer must be `{"verification": "<that value>"}`.
 * - Deliveries: POSTs whose configured header (`webhookAuthHeader`, default Authorization)
 *   carries the configured secret, compared in constant time. The body's `data.events[]` each have
 *   a `uuid` (the dedupe id), an `eventType` and `target`s (User, UserGroup).
 * - What to re-read: user lifecycle and profile events → that user; membership add → that edge
 *   (checked against the user's groups); membership remove → delete the edge; user delete → delete
 *   the user and re-read its memberships (none: all deleted); group lifecycle likewise.
 */
import { membershipId } from '../sdk/identity.ts';
import { headerValue, secretsEqual } from '../sdk/webhook-verify.ts';
import type { ReadHint, WebhookHandler, WebhookOutcome } from '../sdk/types.ts';
import { parseOktaConfig } from './spec.ts';

const CHALLENGE_HEADER = 'x-okta-verification-challenge';

const USER_REREAD = new Set([
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.lifecycle.reactivate',
  'user.lifecycle.deactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.account.update_profile',
  'user.account.lock',
  'user.account.unlock',
]);

interface OktaTarget {
  id?: unknown;
  type?: unknown;
}

interface OktaEvent {
  uuid?: unknown;
  eventType?: unknown;
  target?: unknown;
}

function targetsOf(e: OktaEvent, type: string): string[] {
  const list = Array.isArray(e.target) ? (e.target as OktaTarget[]) : [];
  return list.filter((t) => t && t.type === type && typeof t.id === 'string' && t.id !== '').map((t) => t.id as string);
}

/** what one Okta event asks to re-read or delete */
export function oktaEventHints(e: { eventType: string; users: string[]; groups: string[] }): { hints: ReadHint[]; deletes: ReadHint[] } {
  const { eventType: type, users, groups } = e;
  const ids = (list: string[]) => list.map((id) => ({ id }));
  if (USER_REREAD.has(type) && users.length) return { hints: [{ stream: 'users', keys: ids(users) }], deletes: [] };
  if (type.startsWith('user.lifecycle.delete') && users.length) {
    return { hints: [{ stream: 'memberships', keys: users.map((member_id) => ({ member_id })) }], deletes: [{ stream: 'users', keys: ids(users) }] };
  }
  const edges = users.flatMap((u) => groups.map((g) => ({ id: membershipId(g, 'user', u) })));
  if (type === 'group.user_membership.add' && edges.length) return { hints: [{ stream: 'memberships', keys: edges }], deletes: [] };
  if (type === 'group.user_membership.remove' && edges.length) return { hints: [], deletes: [{ stream: 'memberships', keys: edges }] };
  if ((type === 'group.lifecycle.create' || type === 'group.profile.update') && groups.length) return { hints: [{ stream: 'groups', keys: ids(groups) }], deletes: [] };
  if (type === 'group.lifecycle.delete' && groups.length) {
    return { hints: [{ stream: 'memberships', keys: groups.map((group_id) => ({ group_id })) }], deletes: [{ stream: 'groups', keys: ids(groups) }] };
  }
  return { hints: [], deletes: [] };
}

export const oktaWebhooks: WebhookHandler<Record<string, unknown>> = {
  async handle(raw, req): Promise<WebhookOutcome> {
    const cfg = parseOktaConfig(raw);
    const challenge = headerValue(req, CHALLENGE_HEADER);
    if (req.method === 'GET') {
      if (!challenge || challenge.length > 1024) return { kind: 'rejected', status: 400, reason: 'a GET without an X-Okta-Verification-Challenge header' };
      return { kind: 'handshake', status: 200, contentType: 'application/json', body: JSON.stringify({ verification: challenge }) };
    }
    if (req.method !== 'POST') return { kind: 'rejected', status: 405, reason: `method ${req.method}` };
    if (!cfg.webhookSecret) return { kind: 'rejected', status: 401, reason: 'no event hook secret is configured for this connection' };
    const given = headerValue(req, cfg.webhookAuthHeader);
    if (given === undefined) return { kind: 'rejected', status: 401, reason: `the ${cfg.webhookAuthHeader} header is missing` };
    if (!secretsEqual(given, cfg.webhookSecret)) return { kind: 'rejected', status: 401, reason: `the ${cfg.webhookAuthHeader} header does not carry the configured secret` };

    const body = req.body as { data?: { events?: unknown } } | undefined;
    const events = body?.data?.events;
    if (!Array.isArray(events)) return { kind: 'rejected', status: 400, reason: 'not an Okta event hook payload (no data.events)' };
    const out: Extract<WebhookOutcome, { kind: 'events' }>['events'] = [];
    for (const e of events as OktaEvent[]) {
      if (typeof e?.uuid !== 'string' || e.uuid === '' || typeof e.eventType !== 'string') continue;
      const { hints, deletes } = oktaEventHints({ eventType: e.eventType, users: targetsOf(e, 'User'), groups: targetsOf(e, 'UserGroup') });
      out.push({ id: e.uuid, type: e.eventType, hints, ...(deletes.length ? { deletes } : {}) });
    }
    return { kind: 'events', events: out };
  },
};
