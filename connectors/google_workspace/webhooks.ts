/**
 * Directory API push notifications at `/pip/webhooks/google_workspace/{connection_id}`:
 * `X-Goog-Channel-Token` must equal the configured channel token (constant time); the `sync`
 * message that follows a new channel is acknowledged; `add`, `update`, `undelete`, `makeAdmin`
 * re-read the user named in the body, `delete` deletes it and re-reads its group edges (none
 * left). The event id is the channel id and its message number.
 */
import { headerValue, secretsEqual } from '../sdk/webhook-verify.ts';
import type { WebhookHandler } from '../sdk/types.ts';
import type { GoogleWorkspaceConfig } from './spec.ts';

export const googleWorkspaceWebhooks: WebhookHandler<GoogleWorkspaceConfig> = {
  async handle(config, req) {
    if (req.method !== 'POST') return { kind: 'rejected', status: 405, reason: 'notifications arrive as POST' };
    if (!config.channelToken) return { kind: 'rejected', status: 403, reason: 'push notifications are not configured for this connection (no channel token)' };
    if (!secretsEqual(headerValue(req, 'x-goog-channel-token'), config.channelToken)) return { kind: 'rejected', status: 401, reason: 'X-Goog-Channel-Token does not match' };
    const channel = headerValue(req, 'x-goog-channel-id') ?? '';
    const state = headerValue(req, 'x-goog-resource-state') ?? '';
    if (state === 'sync') return { kind: 'handshake', status: 200, contentType: 'text/plain; charset=utf-8', body: '' };
    const body = (req.body ?? {}) as { id?: unknown };
    const id = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : undefined;
    if (!id) return { kind: 'events', events: [] };
    const event = { id: `${channel}:${headerValue(req, 'x-goog-message-number') ?? id}`, type: `users.${state}` };
    if (state === 'delete') return { kind: 'events', events: [{ ...event, deletes: [{ stream: 'users', keys: [{ id }] }], hints: [{ stream: 'memberships', keys: [{ member_id: id }] }] }] };
    return { kind: 'events', events: [{ ...event, hints: [{ stream: 'users', keys: [{ id }] }] }] };
  },
};
