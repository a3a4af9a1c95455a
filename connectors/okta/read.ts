/**
 * Okta users, groups and group memberships as the normalized identity streams.
 *
 * Incremental reads keep a high-water mark per stream (`{ since }`, saved by the engine only with
 * the data it covers):
 *   users        `filter=lastUpdated gt "<since>"`, plus the DEPROVISIONED ones changed since
 *                (asked for separately: Okta's default listing leaves them out)
 *   groups       `filter=lastUpdated gt "<since>"`
 *   memberships  only groups whose `lastMembershipUpdated` moved past the mark are re-read, and
 *                each re-read group is declared complete (`scope_complete { group_id }`) so
 *                members who left are deleted
 * The mark is the newest timestamp seen, but never later than the server's clock when the listing
 * started (its Date header, whole seconds): a change made while we were paging is read again next
 * time rather than skipped.
 *
 * Targeted reads (webhook hints) fetch single users / groups, a user's groups, or a group's
 * members; a 404 becomes a delete (and the memberships of the deleted principal go with it).
 */
import type { ConfiguredStream, ReadContext, ReadMessage, StreamState } from '../sdk/types.ts';
import { deleteMessage, record, stateMessage, streamStatus, throwIfAborted } from '../sdk/read-helpers.ts';
import { membershipId, type IdentityGroup, type IdentityMembership, type IdentityUser } from '../sdk/identity.ts';
import { updatedSince, type OktaClient, type OktaGroup, type OktaPage, type OktaUser } from './client.ts';
import { SOURCE, type OktaConfig } from './spec.ts';

/** profile attributes the normalized user fields carry */
export const MAPPED_PROFILE = new Set(['login', 'email', 'firstName', 'lastName', 'displayName', 'department', 'title', 'managerId']);
/** normalized field names a custom attribute must not shadow */
const NORMALIZED_USER_FIELDS = new Set(['id', 'email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title', 'manager_id', 'updated_at', 'attributes']);

export type UserTransformer = (user: OktaUser) => IdentityUser & Record<string, unknown>;
export type GroupTransformer = (group: OktaGroup) => IdentityGroup;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const defined = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

/**
 * The normalized user. Profile attributes beyond the mapped ones go under `attributes`, and also
 * top-level under their own name (so they can be mapped and classified one by one).
 */
export const defaultUserTransformer: UserTransformer = (u) => {
  const p = u.profile ?? {};
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (!MAPPED_PROFILE.has(k) && v !== null && v !== undefined) attributes[k] = v;
  const given = str(p.firstName);
  const family = str(p.lastName);
  const extra = Object.fromEntries(Object.entries(attributes).filter(([k]) => !NORMALIZED_USER_FIELDS.has(k)));
  return defined({
    ...extra,
    id: u.id,
    email: str(p.email),
    username: str(p.login),
    display_name: str(p.displayName) ?? ([given, family].filter(Boolean).join(' ') || undefined),
    given_name: given,
    family_name: family,
    status: u.status.toLowerCase(),
    department: str(p.department),
    title: str(p.title),
    manager_id: str(p.managerId),
    updated_at: u.lastUpdated,
    attributes,
  });
};

export const defaultGroupTransformer: GroupTransformer = (g) =>
  defined({
    id: g.id,
    name: g.profile?.name ?? g.id,
    description: str(g.profile?.description),
    kind: g.type?.toLowerCase(),
    updated_at: g.lastUpdated,
  });

const membership = (groupId: string, userId: string): IdentityMembership => ({ id: membershipId(groupId, 'user', userId), group_id: groupId, member_id: userId, member_type: 'user' });

export interface ReadOptions {
  userTransformer?: UserTransformer;
  groupTransformer?: GroupTransformer;
}

/** tracks the newest timestamp seen and the server's clock at the first page */
class HighWaterMark {
  private newest?: number;
  private serverStart?: number;
  constructor(private readonly previous?: string) {}
  page(serverTime: number | undefined): void {
    if (this.serverStart === undefined && serverTime !== undefined) this.serverStart = serverTime;
  }
  see(ts: string | undefined): void {
    const t = ts ? Date.parse(ts) : NaN;
    if (Number.isFinite(t) && (this.newest === undefined || t > this.newest)) this.newest = t;
  }
  state(): StreamState | undefined {
    if (this.newest === undefined) return this.previous ? { since: this.previous } : undefined;
    let mark = this.newest;
    if (this.serverStart !== undefined) mark = Math.min(mark, this.serverStart - 1);
    const prev = this.previous ? Date.parse(this.previous) : undefined;
    if (prev !== undefined && Number.isFinite(prev) && mark < prev) mark = prev;
    return { since: new Date(mark).toISOString() };
  }
}

function sinceOf(stream: ConfiguredStream, state: StreamState | undefined): string | undefined {
  if (stream.syncMode !== 'incremental') return undefined;
  const s = state?.since;
  return typeof s === 'string' && Number.isFinite(Date.parse(s)) ? s : undefined;
}

async function* pagesWithEvents<T>(client: OktaClient, pages: AsyncIterable<OktaPage<T>>, mark: HighWaterMark | undefined, signal: AbortSignal): AsyncGenerator<ReadMessage | { page: T[] }> {
  for await (const p of pages) {
    yield* client.events.drain();
    throwIfAborted(signal, SOURCE);
    mark?.page(p.serverTime);
    yield { page: p.items };
  }
  yield* client.events.drain();
}

function userMessage(cfg: OktaConfig, u: OktaUser, transform: UserTransformer): ReadMessage {
  if (u.status === 'DEPROVISIONED' && cfg.deactivatedUsers === 'delete') return deleteMessage('users', { id: u.id });
  return record('users', transform(u));
}

export async function* readOktaUsers(client: OktaClient, cfg: OktaConfig, stream: ConfiguredStream, ctx: ReadContext, opts: ReadOptions = {}): AsyncGenerator<ReadMessage> {
  const transform = opts.userTransformer ?? defaultUserTransformer;
  const since = sinceOf(stream, ctx.state.users);
  const mark = new HighWaterMark(since);
  yield streamStatus('users', 'started');
  const listings: Array<{ filter?: string; skipDeprovisioned: boolean }> = since
    ? [
        { filter: updatedSince('lastUpdated', since), skipDeprovisioned: true },
        { filter: `status eq "DEPROVISIONED" and ${updatedSince('lastUpdated', since)}`, skipDeprovisioned: false },
      ]
    : [{ skipDeprovisioned: true }, ...(cfg.deactivatedUsers === 'status' ? [{ filter: 'status eq "DEPROVISIONED"', skipDeprovisioned: false }] : [])];
  for (const listing of listings) {
    for await (const m of pagesWithEvents(client, client.listUsers(listing.filter), mark, ctx.signal)) {
      if (!('page' in m)) {
        yield m;
        continue;
      }
      for (const u of m.page) {
        // the DEPROVISIONED ones come from their own listing (a filtered listing may include them)
        if (listing.skipDeprovisioned && u.status === 'DEPROVISIONED') continue;
        mark.see(u.lastUpdated);
        yield userMessage(cfg, u, transform);
      }
    }
  }
  const state = mark.state();
  if (state) yield stateMessage('users', state);
  yield streamStatus('users', 'complete');
}

export async function* readOktaGroups(client: OktaClient, stream: ConfiguredStream, ctx: ReadContext, opts: ReadOptions = {}): AsyncGenerator<ReadMessage> {
  const transform = opts.groupTransformer ?? defaultGroupTransformer;
  const since = sinceOf(stream, ctx.state.groups);
  const mark = new HighWaterMark(since);
  yield streamStatus('groups', 'started');
  for await (const m of pagesWithEvents(client, client.listGroups(since ? updatedSince('lastUpdated', since) : undefined), mark, ctx.signal)) {
    if (!('page' in m)) {
      yield m;
      continue;
    }
    for (const g of m.page) {
      mark.see(g.lastUpdated);
      yield record('groups', transform(g));
    }
  }
  const state = mark.state();
  if (state) yield stateMessage('groups', state);
  yield streamStatus('groups', 'complete');
}

async function* groupMembers(client: OktaClient, groupId: string, signal: AbortSignal): AsyncGenerator<ReadMessage> {
  for await (const m of pagesWithEvents(client, client.listGroupMembers(groupId), undefined, signal)) {
    if (!('page' in m)) {
      yield m;
      continue;
    }
    for (const u of m.page) yield record('memberships', membership(groupId, u.id));
  }
}

export async function* readOktaMemberships(client: OktaClient, stream: ConfiguredStream, ctx: ReadContext): AsyncGenerator<ReadMessage> {
  const since = sinceOf(stream, ctx.state.memberships);
  const mark = new HighWaterMark(since);
  yield streamStatus('memberships', 'started');
  const groups = client.listGroups(since ? updatedSince('lastMembershipUpdated', since) : undefined);
  for await (const m of pagesWithEvents(client, groups, mark, ctx.signal)) {
    if (!('page' in m)) {
      yield m;
      continue;
    }
    for (const g of m.page) {
      mark.see(g.lastMembershipUpdated);
      yield* groupMembers(client, g.id, ctx.signal);
      // an incremental re-read of a group replaces what was stored for it
      if (since) yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: g.id } };
    }
  }
  const state = mark.state();
  if (state) yield stateMessage('memberships', state);
  yield streamStatus('memberships', 'complete');
}

/** parses `<group>:user:<user>` (the membership primary key) */
function parseMembershipKey(key: Record<string, unknown>): { groupId?: string; userId?: string } {
  const groupId = str(key.group_id);
  const userId = str(key.member_id);
  if (groupId || userId) return { groupId, userId };
  const m = /^([^:]+):user:([^:]+)$/.exec(String(key.id ?? ''));
  return m ? { groupId: m[1], userId: m[2] } : {};
}

/** reads only what webhook hints name */
export async function* readOktaTargeted(client: OktaClient, cfg: OktaConfig, streams: ConfiguredStream[], ctx: ReadContext, opts: ReadOptions = {}): AsyncGenerator<ReadMessage> {
  const wanted = new Set(streams.map((s) => s.name));
  const userTransform = opts.userTransformer ?? defaultUserTransformer;
  const groupTransform = opts.groupTransformer ?? defaultGroupTransformer;
  const byName = new Map(streams.map((s) => [s.name, s]));
  for (const hint of ctx.hints ?? []) {
    if (!wanted.has(hint.stream)) continue;
    throwIfAborted(ctx.signal, SOURCE);
    if (hint.keys.length === 0) {
      // no keys: the stream's normal (incremental) read
      yield* readStream(client, cfg, byName.get(hint.stream)!, ctx, opts);
      continue;
    }
    switch (hint.stream) {
      case 'users':
        for (const key of hint.keys) {
          const id = str(key.id);
          if (!id) continue;
          const u = await client.getUser(id);
          yield* client.events.drain();
          if (!u) {
            yield deleteMessage('users', { id });
            yield { type: 'scope_complete', stream: 'memberships', scope: { member_id: id } };
          } else yield userMessage(cfg, u, userTransform);
        }
        break;
      case 'groups':
        for (const key of hint.keys) {
          const id = str(key.id);
          if (!id) continue;
          const g = await client.getGroup(id);
          yield* client.events.drain();
          if (!g) {
            yield deleteMessage('groups', { id });
            yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: id } };
          } else yield record('groups', groupTransform(g));
        }
        break;
      case 'memberships': {
        // edges to check, per user: one call to the user's groups answers all of them
        const edgesByUser = new Map<string, Set<string> | 'all'>();
        const wholeGroups = new Set<string>();
        for (const key of hint.keys) {
          const { groupId, userId } = parseMembershipKey(key);
          if (userId && groupId) {
            const cur = edgesByUser.get(userId);
            if (cur !== 'all') edgesByUser.set(userId, (cur ?? new Set()).add(groupId));
          } else if (userId) edgesByUser.set(userId, 'all');
          else if (groupId) wholeGroups.add(groupId);
        }
        for (const [userId, edges] of edgesByUser) {
          const groups = await client.userGroups(userId);
          yield* client.events.drain();
          const current = new Set((groups ?? []).map((g) => g.id));
          if (edges === 'all') {
            for (const gid of current) yield record('memberships', membership(gid, userId));
            yield { type: 'scope_complete', stream: 'memberships', scope: { member_id: userId } };
          } else {
            for (const gid of edges) yield current.has(gid) ? record('memberships', membership(gid, userId)) : deleteMessage('memberships', { id: membershipId(gid, 'user', userId) });
          }
        }
        for (const gid of wholeGroups) {
          yield* groupMembers(client, gid, ctx.signal);
          yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: gid } };
        }
        break;
      }
    }
  }
}

function readStream(client: OktaClient, cfg: OktaConfig, s: ConfiguredStream, ctx: ReadContext, opts: ReadOptions): AsyncGenerator<ReadMessage> {
  if (s.name === 'users') return readOktaUsers(client, cfg, s, ctx, opts);
  if (s.name === 'groups') return readOktaGroups(client, s, ctx, opts);
  return readOktaMemberships(client, s, ctx);
}

export async function* readOkta(client: OktaClient, cfg: OktaConfig, streams: ConfiguredStream[], ctx: ReadContext, opts: ReadOptions = {}): AsyncGenerator<ReadMessage> {
  if (ctx.hints) {
    yield* readOktaTargeted(client, cfg, streams, ctx, opts);
    return;
  }
  for (const s of streams) if (s.name === 'users' || s.name === 'groups' || s.name === 'memberships') yield* readStream(client, cfg, s, ctx, opts);
}
