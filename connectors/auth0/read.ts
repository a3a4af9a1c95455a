/**
 * Reading an Auth0 tenant:
 *
 *  users             paged (`/users`, page/per_page, include_totals) while the tenant has fewer than
 *                    1,000 users — the Management API pages through no more — else (or when asked)
 *                    the users export job, streamed line by line
 *  roles             `/roles` (page based)
 *  role_assignments  `/roles/{id}/users` per role (checkpoints)
 *  groups            organizations, `/organizations` (checkpoints)
 *  memberships       `/organizations/{id}/members` per organization (checkpoints)
 *
 * Every stream is a full read (Auth0 has no change feed for these; the log stream pushes changes).
 * Targeted reads (log stream events): a user by id (gone → deleted); a user's roles or
 * organizations, or a role's or organization's members, each closed by `scope_complete`.
 */
import { hintValues, readEachById, readIdentityStreams, readScope, selectedFields, type IdentityPass } from '../sdk/identity-read.ts';
import type { RateLimitEvents } from '../sdk/http/index.ts';
import { isSourceError } from '../sdk/errors.ts';
import { logMessage, record } from '../sdk/read-helpers.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { AUTH0_PAGING_CAP, isNotFound, type Auth0Client, type Auth0Object } from './client.ts';
import {
  defaultOrganizationTransformer,
  defaultUserTransformer,
  orgMembership,
  roleAssignment,
  roleRecord,
  USER_ATTRIBUTES,
  USER_BASE_FIELDS,
  type Auth0Transformer,
} from './transform.ts';

export interface Auth0ReadOptions {
  userTransformer?: Auth0Transformer;
  organizationTransformer?: Auth0Transformer;
}

const enc = encodeURIComponent;

export async function* readAuth0(client: Auth0Client, catalog: ConfiguredCatalog, ctx: ReadContext, events: RateLimitEvents, opts: Auth0ReadOptions = {}): AsyncGenerator<ReadMessage> {
  const toUser = opts.userTransformer ?? defaultUserTransformer;
  const toOrg = opts.organizationTransformer ?? defaultOrganizationTransformer;
  const byName = new Map(catalog.streams.map((s) => [s.name, s]));
  const userSelected = selectedFields(byName.get('users'));
  const orgSelected = selectedFields(byName.get('groups'));
  const exportFields = [...USER_BASE_FIELDS, ...USER_ATTRIBUTES.map(([n]) => n).filter(userSelected)];

  function* user(u: Auth0Object): Generator<ReadMessage> {
    const data = toUser(u, userSelected);
    if (data) yield record('users', data);
  }

  const usersPass: IdentityPass = {
    streams: ['users'],
    async *read() {
      let strategy = client.cfg.usersStrategy;
      if (strategy === 'auto') {
        const total = await client.usersTotal();
        strategy = total < AUTH0_PAGING_CAP ? 'paged' : 'export';
        yield logMessage('info', `${total} users: reading them ${strategy === 'paged' ? 'page by page' : 'through a users export job'}`);
      }
      if (strategy === 'paged') {
        try {
          for await (const page of client.pages('/users', 'users')) for (const u of page) yield* user(u);
          return;
        } catch (err) {
          // the tenant grew past what the listing pages through: the export has everyone
          if (!(isSourceError(err) && err.detail?.providerCode === 'invalid_paging')) throw err;
          yield logMessage('warn', 'Auth0 refused to page past 1,000 users; reading them through a users export job instead');
        }
      }
      for await (const u of client.exportUsers(exportFields)) yield* user(u);
    },
  };

  const rolesPass: IdentityPass = {
    streams: ['roles', 'role_assignments'],
    async *read(streams) {
      const wantRoles = streams.some((s) => s.name === 'roles');
      const wantAssignments = streams.some((s) => s.name === 'role_assignments');
      for await (const page of client.pages('/roles', 'roles')) {
        for (const r of page) {
          if (wantRoles) yield record('roles', roleRecord(r));
          if (!wantAssignments) continue;
          for await (const members of client.checkpoints(`/roles/${enc(String(r.id))}/users`, 'users')) {
            for (const m of members) yield record('role_assignments', roleAssignment(String(r.id), String(m.user_id)));
          }
        }
      }
    },
  };

  const orgsPass: IdentityPass = {
    streams: ['groups', 'memberships'],
    async *read(streams) {
      const wantOrgs = streams.some((s) => s.name === 'groups');
      const wantMembers = streams.some((s) => s.name === 'memberships');
      for await (const page of client.checkpoints('/organizations', 'organizations')) {
        for (const o of page) {
          const org = wantOrgs ? toOrg(o, orgSelected) : undefined;
          if (org) yield record('groups', org);
          if (wantMembers) yield* orgMembers(String(o.id));
        }
      }
    },
  };

  async function* orgMembers(orgId: string): AsyncGenerator<ReadMessage> {
    for await (const members of client.checkpoints(`/organizations/${enc(orgId)}/members`, 'members')) {
      for (const m of members) yield record('memberships', orgMembership(orgId, String(m.user_id)));
    }
  }

  const scoped = (stream: string, scope: Record<string, string>, read: () => AsyncIterable<ReadMessage>) => readScope(stream, scope, read, isNotFound);

  yield* readIdentityStreams({
    source: client.http.source,
    catalog,
    ctx,
    events,
    passes: [usersPass, rolesPass, orgsPass],
    targeted: {
      users: (keys) => readEachById('users', hintValues(keys, 'id'), (id) => client.user(id), user),
      async *role_assignments(keys) {
        for (const userId of hintValues(keys, 'principal_id')) {
          yield* scoped('role_assignments', { principal_id: userId, principal_type: 'user' }, async function* () {
            for await (const page of client.pages(`/users/${enc(userId)}/roles`, 'roles')) for (const r of page) yield record('role_assignments', roleAssignment(String(r.id), userId));
          });
        }
        for (const roleId of hintValues(keys, 'role_id')) {
          yield* scoped('role_assignments', { role_id: roleId }, async function* () {
            for await (const page of client.checkpoints(`/roles/${enc(roleId)}/users`, 'users')) for (const m of page) yield record('role_assignments', roleAssignment(roleId, String(m.user_id)));
          });
        }
      },
      async *memberships(keys) {
        for (const userId of hintValues(keys, 'member_id')) {
          yield* scoped('memberships', { member_id: userId, member_type: 'user' }, async function* () {
            for await (const page of client.pages(`/users/${enc(userId)}/organizations`, 'organizations')) for (const o of page) yield record('memberships', orgMembership(String(o.id), userId));
          });
        }
        for (const orgId of hintValues(keys, 'group_id')) yield* scoped('memberships', { group_id: orgId }, () => orgMembers(orgId));
      },
    },
  });
}
