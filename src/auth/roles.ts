/** Roles and what they may do. `opal` reads pip-data only; the others are ordered. */
export const ROLES = ['admin', 'editor', 'viewer', 'opal'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { opal: 0, viewer: 1, editor: 2, admin: 3 };

/** does `held` satisfy a route that needs `needed`? (`opal` satisfies only `opal`) */
export function roleSatisfies(held: Role, needed: Role): boolean {
  if (needed === 'opal') return held === 'opal' || held === 'admin';
  if (held === 'opal') return false;
  return RANK[held] >= RANK[needed];
}
