/**
 * Auth0 log stream (Custom Webhook) deliveries at `/pip/webhooks/auth0/{connection_id}`: the
 * Authorization header must equal the configured value (constant time); the body is a JSON array
 * of `{ log_id, data }` (also accepted: JSON Lines and single objects). Log events that change the
 * directory become targeted reads; the rest (logins, failures…) are ignored:
 *
 *   ss, sce, scu, scpn, sv, sui          a user signed up or changed → re-read the user
 *   sdu, du                              a user was deleted → delete it, re-read its role and
 *                                        organization edges (none left)
 *   sapi (a Management API operation)    by method and path: users (create/update/delete), a user's
 *                                        roles, a role's members, roles, organizations and their members
 */
import { headerValue, jsonDocuments, secretsEqual } from '../sdk/webhook-verify.ts';
import type { ReadHint, WebhookHandler, WebhookOutcome } from '../sdk/types.ts';
import type { Auth0Config } from './spec.ts';

type WebhookEvent = Extract<WebhookOutcome, { kind: 'events' }>['events'][number];
type Change = Pick<WebhookEvent, 'hints' | 'deletes'>;

const USER_CHANGED = new Set(['ss', 'sce', 'scu', 'scpn', 'sv', 'sui']);
const USER_DELETED = new Set(['sdu', 'du']);

const userEdges = (id: string): ReadHint[] => [
  { stream: 'role_assignments', keys: [{ principal_id: id }] },
  { stream: 'memberships', keys: [{ member_id: id }] },
];
const userChanged = (id: string): Change => ({ hints: [{ stream: 'users', keys: [{ id }] }] });
const userDeleted = (id: string): Change => ({ hints: userEdges(id), deletes: [{ stream: 'users', keys: [{ id }] }] });
const whole = (...streams: string[]): Change => ({ hints: streams.map((stream) => ({ stream, keys: [] })) });

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** what a successful Management API call changed, from its method and path */
export function managementChange(method: string, path: string, responseBody: unknown): Change | undefined {
  const m = method.toLowerCase();
  const parts = path.split('?')[0]!.replace(/^\/api\/v2\/?/, '').split('/').filter(Boolean).map(decode);
  const [collection, id, sub] = parts;
  switch (collection) {
    case 'users': {
      if (!id) {
        const created = (responseBody as { user_id?: unknown } | undefined)?.user_id;
        return m === 'post' && typeof created === 'string' ? userChanged(created) : undefined;
      }
      if (sub === 'roles') return { hints: [{ stream: 'role_assignments', keys: [{ principal_id: id }] }] };
      if (sub) return undefined;
      if (m === 'delete') return userDeleted(id);
      return m === 'patch' || m === 'put' ? userChanged(id) : undefined;
    }
    case 'roles':
      if (id && sub === 'users') return { hints: [{ stream: 'role_assignments', keys: [{ role_id: id }] }] };
      if (m === 'get') return undefined;
      return m === 'delete' && id ? { hints: [{ stream: 'roles', keys: [] }, { stream: 'role_assignments', keys: [{ role_id: id }] }] } : whole('roles');
    case 'organizations':
      if (id && sub === 'members') return { hints: [{ stream: 'memberships', keys: [{ group_id: id }] }] };
      if (m === 'get' || sub) return undefined;
      return m === 'delete' && id ? { hints: [{ stream: 'groups', keys: [] }, { stream: 'memberships', keys: [{ group_id: id }] }] } : whole('groups');
    default:
      return undefined;
  }
}

/** what a log event means for the directory, if anything */
export function logEventChange(log: Record<string, unknown>): Change | undefined {
  const type = String(log.type ?? '');
  const userId = typeof log.user_id === 'string' && log.user_id !== '' ? log.user_id : undefined;
  if (USER_CHANGED.has(type)) return userId ? userChanged(userId) : undefined;
  if (USER_DELETED.has(type)) return userId ? userDeleted(userId) : undefined;
  if (type === 'sapi') {
    const details = (log.details ?? {}) as { request?: { method?: string; path?: string }; response?: { body?: unknown } };
    if (typeof details.request?.method !== 'string' || typeof details.request.path !== 'string') return undefined;
    return managementChange(details.request.method, details.request.path, details.response?.body);
  }
  return undefined;
}

export const auth0Webhooks: WebhookHandler<Auth0Config> = {
  async handle(config, req) {
    if (req.method !== 'POST') return { kind: 'rejected', status: 405, reason: 'log streams POST their events' };
    if (!config.logStreamAuthorization) return { kind: 'rejected', status: 403, reason: 'no log stream Authorization value is configured for this connection' };
    if (!secretsEqual(headerValue(req, 'authorization'), config.logStreamAuthorization)) return { kind: 'rejected', status: 401, reason: 'the Authorization header does not match the log stream token' };
    const docs = jsonDocuments(req);
    if (!docs) return { kind: 'rejected', status: 400, reason: 'the body is neither JSON nor JSON Lines' };
    const events: WebhookEvent[] = [];
    for (const item of docs.flat()) {
      if (!item || typeof item !== 'object') continue;
      const entry = item as { log_id?: unknown; data?: unknown };
      const log = (entry.data && typeof entry.data === 'object' ? entry.data : entry) as Record<string, unknown>;
      const id = [entry.log_id, log.log_id, log._id].find((v) => typeof v === 'string' && v !== '') as string | undefined;
      const change = logEventChange(log);
      if (!id || !change) continue;
      events.push({ id, type: String(log.type), ...change });
    }
    return { kind: 'events', events };
  },
};
