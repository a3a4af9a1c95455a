/**
 * Merges the normalized identity streams (connectors/sdk/identity.ts) of every identity
 * connection of a tenant into `users` and `groups`:
 *
 *   users.<key>   one person across sources, keyed by the merge key (default: lowercased email);
 *                 `groups` holds direct AND inherited groups (nested groups, cycles guarded),
 *                 `roles` the names of roles assigned to the user or to any of those groups,
 *                 `sources` the external id per connection. Scalar fields: first source wins
 *                 (connections in creation order). A user without a key value stays on its own
 *                 as `<connection>:<external id>`.
 *   groups.<key>  keyed by name (or `<connection>:<id>` with group key `id`, or when one source
 *                 has several groups of that name); groups of the same name in different sources
 *                 merge. `members` are direct user members, `member_groups` direct child groups,
 *                 `roles` direct and inherited from parent groups.
 */
export interface IdentityUserIn {
  id: string;
  /** merge key value (already normalized, possibly hashed); undefined: not mergeable */
  key?: string;
  /** published values by normalized field name */
  fields: Record<string, unknown>;
  /** external id of the manager in the same source */
  managerId?: string;
}

export interface IdentityGroupIn {
  id: string;
  name?: string;
  fields: Record<string, unknown>;
}

export interface IdentitySourceIn {
  /** the connection's key in the document */
  key: string;
  users: IdentityUserIn[];
  groups: IdentityGroupIn[];
  memberships: Array<{ group_id: string; member_id: string; member_type: string }>;
  roles: Array<{ id: string; name?: string }>;
  roleAssignments: Array<{ role_id: string; principal_id: string; principal_type: string }>;
}

export type GroupKeyKind = 'name' | 'id';

export interface MergedUser {
  id: string;
  [field: string]: unknown;
  groups: string[];
  roles: string[];
  attributes: Record<string, unknown>;
  sources: Record<string, string>;
}

export interface MergedGroup {
  id: string;
  name: string;
  [field: string]: unknown;
  members: string[];
  member_groups: string[];
  roles: string[];
  attributes: Record<string, unknown>;
  source: string;
  sources: Record<string, string>;
}

export interface MergeStats {
  users: number;
  groups: number;
  /** membership or role edges naming a user or group that is not in the source */
  danglingEdges: number;
  /** nested-group cycles met (and cut) */
  cycles: number;
}

const USER_SCALARS = ['email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title'];
const GROUP_SCALARS = ['description', 'kind'];

const sorted = (s: Set<string>) => [...s].sort();

function mergeAttributes(into: Record<string, unknown>, from: unknown): void {
  if (!from || typeof from !== 'object' || Array.isArray(from)) return;
  for (const [k, v] of Object.entries(from as Record<string, unknown>)) if (!(k in into) && v !== undefined) into[k] = v;
}

export function mergeIdentities(sources: IdentitySourceIn[], opts: { groupKey?: GroupKeyKind } = {}): { users: Record<string, MergedUser>; groups: Record<string, MergedGroup>; stats: MergeStats } {
  const users = new Map<string, MergedUser>();
  const groups = new Map<string, MergedGroup>();
  const stats: MergeStats = { users: 0, groups: 0, danglingEdges: 0, cycles: 0 };
  const userKeyOf = new Map<string, Map<string, string>>(); // source → external id → key
  const groupKeyOf = new Map<string, Map<string, string>>();
  const directGroups = new Map<string, Set<string>>(); // user key → group keys
  const parents = new Map<string, Set<string>>(); // group key → parent group keys
  const members = new Map<string, Set<string>>();
  const childGroups = new Map<string, Set<string>>();
  const userRoles = new Map<string, Set<string>>();
  const groupRoles = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, v: string) => {
    let s = m.get(k);
    if (!s) m.set(k, (s = new Set()));
    s.add(v);
  };

  for (const src of sources) {
    const uk = new Map<string, string>();
    userKeyOf.set(src.key, uk);
    for (const u of src.users) {
      const key = u.key ?? `${src.key}:${u.id}`;
      uk.set(u.id, key);
      let m = users.get(key);
      if (!m) {
        m = { id: key, groups: [], roles: [], attributes: {}, sources: {} };
        users.set(key, m);
      }
      for (const f of USER_SCALARS) if (m[f] === undefined && u.fields[f] !== undefined) m[f] = u.fields[f];
      mergeAttributes(m.attributes, u.fields.attributes);
      if (m.sources[src.key] === undefined) m.sources[src.key] = u.id;
    }
    for (const u of src.users) {
      if (u.managerId === undefined) continue;
      const m = users.get(uk.get(u.id)!)!;
      const manager = uk.get(u.managerId);
      if (manager && m.manager === undefined) m.manager = manager;
    }

    const gk = new Map<string, string>();
    groupKeyOf.set(src.key, gk);
    const nameCount = new Map<string, number>();
    for (const g of src.groups) if (g.name !== undefined) nameCount.set(g.name, (nameCount.get(g.name) ?? 0) + 1);
    for (const g of src.groups) {
      const byName = opts.groupKey !== 'id' && g.name !== undefined && nameCount.get(g.name) === 1;
      const key = byName ? g.name! : `${src.key}:${g.id}`;
      gk.set(g.id, key);
      let m = groups.get(key);
      if (!m) {
        m = { id: key, name: g.name ?? key, members: [], member_groups: [], roles: [], attributes: {}, source: src.key, sources: {} };
        groups.set(key, m);
      }
      for (const f of GROUP_SCALARS) if (m[f] === undefined && g.fields[f] !== undefined) m[f] = g.fields[f];
      mergeAttributes(m.attributes, g.fields.attributes);
      if (m.sources[src.key] === undefined) m.sources[src.key] = g.id;
    }

    for (const e of src.memberships) {
      const group = gk.get(e.group_id);
      const member = e.member_type === 'group' ? gk.get(e.member_id) : uk.get(e.member_id);
      if (!group || !member || (e.member_type !== 'user' && e.member_type !== 'group')) {
        stats.danglingEdges++;
        continue;
      }
      if (e.member_type === 'user') {
        add(directGroups, member, group);
        add(members, group, member);
      } else if (member !== group) {
        add(childGroups, group, member);
        add(parents, member, group);
      }
    }

    const roleName = new Map(src.roles.map((r) => [r.id, r.name ?? r.id]));
    for (const a of src.roleAssignments) {
      const name = roleName.get(a.role_id) ?? a.role_id;
      const principal = a.principal_type === 'group' ? gk.get(a.principal_id) : a.principal_type === 'user' ? uk.get(a.principal_id) : undefined;
      if (!principal) {
        stats.danglingEdges++;
        continue;
      }
      add(a.principal_type === 'group' ? groupRoles : userRoles, principal, name);
    }
  }

  // ancestors of each group: breadth-first over parents, a visited set cuts cycles
  const ancestorsMemo = new Map<string, Set<string>>();
  const ancestors = (g: string): Set<string> => {
    const hit = ancestorsMemo.get(g);
    if (hit) return hit;
    const seen = new Set<string>();
    const queue = [...(parents.get(g) ?? [])];
    while (queue.length) {
      const p = queue.shift()!;
      if (p === g) {
        stats.cycles++;
        continue;
      }
      if (seen.has(p)) continue;
      seen.add(p);
      for (const pp of parents.get(p) ?? []) queue.push(pp);
    }
    ancestorsMemo.set(g, seen);
    return seen;
  };

  for (const [key, g] of groups) {
    g.members = sorted(members.get(key) ?? new Set());
    g.member_groups = sorted(childGroups.get(key) ?? new Set());
    const roles = new Set(groupRoles.get(key) ?? []);
    for (const a of ancestors(key)) for (const r of groupRoles.get(a) ?? []) roles.add(r);
    g.roles = sorted(roles);
  }
  for (const [key, u] of users) {
    const all = new Set<string>();
    for (const g of directGroups.get(key) ?? []) {
      all.add(g);
      for (const a of ancestors(g)) all.add(a);
    }
    u.groups = sorted(all);
    const roles = new Set(userRoles.get(key) ?? []);
    for (const g of all) for (const r of groupRoles.get(g) ?? []) roles.add(r);
    u.roles = sorted(roles);
  }
  stats.users = users.size;
  stats.groups = groups.size;
  // readable member order: id and scalar fields first, then the derived lists
  const ordered = <T extends Record<string, unknown>>(o: T, last: string[]): T => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (!last.includes(k)) out[k] = v;
    for (const k of last) out[k] = o[k];
    return out as T;
  };
  for (const [k, u] of users) users.set(k, ordered(u, ['groups', 'roles', 'attributes', 'sources']));
  for (const [k, g] of groups) groups.set(k, ordered(g, ['members', 'member_groups', 'roles', 'attributes', 'source', 'sources']));
  const sortedObject = <T>(m: Map<string, T>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { users: sortedObject(users), groups: sortedObject(groups), stats };
}
