/**
 * Reading Google Workspace through the Directory API:
 *
 *  users        `/users?customer=…&projection=full` (500 a page)
 *  groups       `/groups?customer=…` (200 a page)
 *  memberships  `/groups/{id}/members` per group (200 a page): users, external users, nested groups
 *
 * Full reads (the Directory API has no change feed; users are pushed through watch channels).
 * Targeted reads (notifications): a user by id (gone → deleted); a user's groups (`groups?userKey=`)
 * or a group's members, each closed by `scope_complete`.
 */
import { hintValues, readEachById, readIdentityStreams, readScope, selectedFields, type IdentityPass } from '../sdk/identity-read.ts';
import { membershipId } from '../sdk/identity.ts';
import type { RateLimitEvents } from '../sdk/http/index.ts';
import { record } from '../sdk/read-helpers.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { isNotFound, type GoogleDirectoryClient, type GoogleObject } from './client.ts';
import { defaultGroupTransformer, defaultUserTransformer, memberType, type GoogleTransformer } from './transform.ts';

export interface GoogleReadOptions {
  userTransformer?: GoogleTransformer;
  groupTransformer?: GoogleTransformer;
}

const edge = (groupId: string, type: 'user' | 'group', memberId: string) => record('memberships', { id: membershipId(groupId, type, memberId), group_id: groupId, member_id: memberId, member_type: type });

export async function* readGoogleWorkspace(client: GoogleDirectoryClient, catalog: ConfiguredCatalog, ctx: ReadContext, events: RateLimitEvents, opts: GoogleReadOptions = {}): AsyncGenerator<ReadMessage> {
  const toUser = opts.userTransformer ?? defaultUserTransformer;
  const toGroup = opts.groupTransformer ?? defaultGroupTransformer;
  const byName = new Map(catalog.streams.map((s) => [s.name, s]));
  const userSelected = selectedFields(byName.get('users'));
  const groupSelected = selectedFields(byName.get('groups'));

  function* user(u: GoogleObject): Generator<ReadMessage> {
    const data = toUser(u, userSelected);
    if (data) yield record('users', data);
  }

  async function* membersOf(groupId: string): AsyncGenerator<ReadMessage> {
    for await (const page of client.members(groupId)) {
      for (const m of page) {
        const type = memberType(m);
        if (type) yield edge(groupId, type, m.id);
      }
    }
  }

  const usersPass: IdentityPass = {
    streams: ['users'],
    async *read() {
      for await (const page of client.users()) for (const u of page) yield* user(u);
    },
  };

  const groupsPass: IdentityPass = {
    streams: ['groups', 'memberships'],
    async *read(streams) {
      const wantGroups = streams.some((s) => s.name === 'groups');
      const wantMembers = streams.some((s) => s.name === 'memberships');
      for await (const page of client.groups()) {
        for (const g of page) {
          const data = wantGroups ? toGroup(g, groupSelected) : undefined;
          if (data) yield record('groups', data);
          if (wantMembers) yield* membersOf(g.id);
        }
      }
    },
  };

  yield* readIdentityStreams({
    source: client.http.source,
    catalog,
    ctx,
    events,
    passes: [usersPass, groupsPass],
    targeted: {
      users: (keys) => readEachById('users', hintValues(keys, 'id'), (id) => client.user(id), user),
      async *memberships(keys) {
        for (const userId of hintValues(keys, 'member_id')) {
          yield* readScope('memberships', { member_id: userId, member_type: 'user' }, async function* () {
            for await (const page of client.groups(userId)) for (const g of page) yield edge(g.id, 'user', userId);
          }, isNotFound);
        }
        for (const groupId of hintValues(keys, 'group_id')) yield* readScope('memberships', { group_id: groupId }, () => membersOf(groupId), isNotFound);
      },
    },
  });
}
