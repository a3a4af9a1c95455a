/**
 * Reading Entra ID through Graph:
 *
 *  users        incremental: `/users/delta` — the delta link is the stream state; `@removed` users
 *               are deleted; updated users are re-read by id (a delta entry carries "at least the
 *               properties that have been updated", so it is never stored as it is). Full: `/users`.
 *  groups       incremental: `/groups/delta`; full: `/groups`.
 *  memberships  direct: from `members@delta` of the groups delta (added edges upserted, `@removed`
 *               ones deleted; a large group repeats over several entries); transitive (option):
 *               `/groups/{id}/transitiveMembers` per group, full only.
 *
 * A stale delta token (410 `resyncRequired`, 400 `syncStateNotFound`) restarts the stream from a
 * fresh initial round in the same run. Nothing already stored is touched until that round is
 * complete and applied atomically; the round ends with `scope_complete` over the whole stream, so
 * records it did not return again — objects deleted while the token was stale, for which Graph
 * will never send a tombstone — are deleted at apply.
 *
 * Targeted reads (webhooks): users and groups by id (`id in (…)`, missing ones deleted);
 * memberships of a group (`{ group_id }`) or of a user (`{ member_id }`), each ending with
 * `scope_complete` for that group or user.
 */
import { hintValues, readIdentityStreams, readScope, selectedFields, type IdentityPass } from '../sdk/identity-read.ts';
import { IdentityUser, IdentityGroup } from '../sdk/identity.ts';
import type { RateLimitEvents } from '../sdk/http/index.ts';
import { deleteMessage, logMessage, record, stateMessage } from '../sdk/read-helpers.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadContext, ReadMessage } from '../sdk/types.ts';
import { isNotFound, isStaleDeltaToken, type GraphClient, type GraphObject } from './client.ts';
import {
  defaultGroupTransformer,
  defaultUserTransformer,
  GROUP_BASE_PROPERTIES,
  memberType,
  membershipRecord,
  USER_BASE_PROPERTIES,
  type GraphGroupTransformer,
  type GraphUserTransformer,
} from './transform.ts';

export interface AzureAdReadOptions {
  userTransformer?: GraphUserTransformer;
  groupTransformer?: GraphGroupTransformer;
}

const NORMALIZED_USER = new Set(Object.keys(IdentityUser.properties));
const NORMALIZED_GROUP = new Set(Object.keys(IdentityGroup.properties));

/** the Graph properties to `$select`: those behind the normalized fields plus the selected attributes */
export function selectFor(stream: ConfiguredStream | undefined, base: string[], normalized: Set<string>): string[] {
  const extras = (stream?.fields ?? []).filter((f) => !normalized.has(f));
  return [...new Set([...base, ...extras])];
}

type DeltaState = { deltaLink?: string };

const removed = (obj: GraphObject): boolean => obj['@removed'] !== undefined;

export async function* readAzureAd(client: GraphClient, catalog: ConfiguredCatalog, ctx: ReadContext, events: RateLimitEvents, opts: AzureAdReadOptions = {}): AsyncGenerator<ReadMessage> {
  const toUser = opts.userTransformer ?? defaultUserTransformer;
  const toGroup = opts.groupTransformer ?? defaultGroupTransformer;
  const byName = new Map(catalog.streams.map((s) => [s.name, s]));
  const transitive = client.cfg.transitiveMembers;
  const userSelect = selectFor(byName.get('users'), USER_BASE_PROPERTIES, NORMALIZED_USER);
  const groupSelect = selectFor(byName.get('groups'), GROUP_BASE_PROPERTIES, NORMALIZED_GROUP);
  const userSelected = selectedFields(byName.get('users'));
  const groupSelected = selectedFields(byName.get('groups'));

  function* userRecord(u: GraphObject): Generator<ReadMessage> {
    const data = toUser(u, userSelected);
    if (data) yield record('users', data);
  }
  function* groupRecord(g: GraphObject): Generator<ReadMessage> {
    const data = toGroup(g, groupSelected);
    if (data) yield record('groups', data);
  }

  /** objects by id; the ones Graph no longer has are deleted */
  async function* byIds(collection: 'users' | 'groups', ids: string[]): AsyncGenerator<ReadMessage> {
    const found = new Set<string>();
    for await (const page of client.byIds(collection, ids, collection === 'users' ? userSelect : groupSelect)) {
      for (const o of page) {
        found.add(o.id);
        yield* collection === 'users' ? userRecord(o) : groupRecord(o);
      }
    }
    for (const id of ids) if (!found.has(id)) yield deleteMessage(collection, { id });
  }

  /**
   * One delta round of `path`, resuming from `link` when given; a stale token restarts it from
   * a fresh initial round and the round then ends with `scope_complete` for `streams`.
   */
  async function* deltaRound(p: {
    path: string;
    select: string[];
    streams: ConfiguredStream[];
    link?: string;
    onObject(obj: GraphObject, tracked: boolean): AsyncIterable<ReadMessage> | Iterable<ReadMessage>;
    beforeState?(): AsyncIterable<ReadMessage>;
  }): AsyncGenerator<ReadMessage> {
    let start: { deltaLink: string } | { path: string; select: string[] } = p.link ? { deltaLink: p.link } : { path: p.path, select: p.select };
    let reset = false;
    for (;;) {
      try {
        for await (const page of client.delta(start)) {
          for (const obj of page.objects) yield* p.onObject(obj, 'deltaLink' in start);
          if (page.deltaLink) {
            if (p.beforeState) yield* p.beforeState();
            for (const s of p.streams) if (s.syncMode === 'incremental') yield stateMessage(s.name, { deltaLink: page.deltaLink });
          }
        }
        break;
      } catch (err) {
        if (reset || !isStaleDeltaToken(err)) throw err;
        reset = true;
        start = { path: p.path, select: p.select };
        yield logMessage('warn', `Graph refused the delta token of ${p.streams.map((s) => s.name).join(', ')} (${(err as Error).message}); reading everything again from a fresh delta round`);
      }
    }
    if (reset) for (const s of p.streams) yield { type: 'scope_complete', stream: s.name, scope: {} };
  }

  const usersPass: IdentityPass = {
    streams: ['users'],
    async *read([users]) {
      if (users!.syncMode === 'full') {
        for await (const page of client.list('/users', { $select: userSelect.join(',') })) for (const u of page) yield* userRecord(u);
        return;
      }
      const pending: string[] = [];
      const flush = async function* () {
        if (pending.length) yield* byIds('users', pending.splice(0));
      };
      yield* deltaRound({
        path: '/users/delta',
        select: userSelect,
        streams: [users!],
        link: (ctx.state.users as DeltaState | undefined)?.deltaLink,
        beforeState: flush,
        async *onObject(u, tracked) {
          if (removed(u)) yield deleteMessage('users', { id: u.id });
          else if (!tracked) yield* userRecord(u);
          else {
            // a tracked entry may carry only what changed: read the whole user
            pending.push(u.id);
            if (pending.length >= 15) yield* flush();
          }
        },
      });
    },
  };

  const groupsDeltaStreams = [...(byName.get('groups')?.syncMode === 'incremental' ? ['groups'] : []), ...(transitive ? [] : ['memberships'])];
  const groupsDeltaPass: IdentityPass = {
    streams: groupsDeltaStreams,
    async *read(streams) {
      const wantGroups = streams.some((s) => s.name === 'groups');
      const wantMembers = streams.some((s) => s.name === 'memberships');
      // a delta link serves only when every stream of the round resumes from the same one
      const links = streams.map((s) => (s.syncMode === 'incremental' ? (ctx.state[s.name] as DeltaState | undefined)?.deltaLink : undefined));
      const link = links.every((l) => l !== undefined && l === links[0]) ? links[0] : undefined;
      let lastGroup: string | undefined;
      yield* deltaRound({
        path: '/groups/delta',
        select: wantMembers ? [...groupSelect, 'members'] : groupSelect,
        streams,
        link,
        *onObject(g) {
          if (removed(g)) {
            if (wantGroups) yield deleteMessage('groups', { id: g.id });
            if (wantMembers) yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: g.id } };
            return;
          }
          // a large group repeats on consecutive entries, each with more members
          if (wantGroups && g.id !== lastGroup && 'displayName' in g) yield* groupRecord(g);
          lastGroup = g.id;
          if (!wantMembers) return;
          for (const m of (g['members@delta'] as Array<Record<string, unknown>> | undefined) ?? []) {
            const type = m['@odata.type'] === undefined ? 'user' : memberType(m);
            if (!type || typeof m.id !== 'string') continue;
            const edge = membershipRecord(g.id, type, m.id);
            yield m['@removed'] !== undefined ? deleteMessage('memberships', { id: edge.id }) : record('memberships', edge);
          }
        },
      });
    },
  };

  const groupsListPass: IdentityPass = {
    streams: ['groups'],
    async *read() {
      for await (const page of client.list('/groups', { $select: groupSelect.join(',') })) for (const g of page) yield* groupRecord(g);
    },
  };

  async function* membersOf(groupId: string): AsyncGenerator<ReadMessage> {
    for await (const page of client.members(groupId, transitive)) {
      for (const m of page) {
        const type = memberType(m);
        if (type) yield record('memberships', membershipRecord(groupId, type, m.id));
      }
    }
  }

  const transitivePass: IdentityPass = {
    streams: transitive ? ['memberships'] : [],
    async *read() {
      for await (const page of client.list('/groups', { $select: 'id' })) for (const g of page) yield* membersOf(g.id);
    },
  };

  yield* readIdentityStreams({
    source: client.http.source,
    catalog,
    ctx,
    events,
    passes: [usersPass, groupsDeltaPass, groupsListPass, transitivePass],
    targeted: {
      users: (keys) => byIds('users', hintValues(keys, 'id')),
      groups: (keys) => byIds('groups', hintValues(keys, 'id')),
      async *memberships(keys) {
        for (const groupId of hintValues(keys, 'group_id')) yield* readScope('memberships', { group_id: groupId }, () => membersOf(groupId), isNotFound);
        for (const userId of hintValues(keys, 'member_id')) {
          yield* readScope('memberships', { member_id: userId, member_type: 'user' }, async function* () {
            for await (const page of client.memberOf(userId, transitive)) {
              for (const g of page) if (memberType(g) === 'group') yield record('memberships', membershipRecord(g.id, 'user', userId));
            }
          }, isNotFound);
        }
      },
    },
  });
}
