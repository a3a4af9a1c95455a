/**
 * Discovery: Auth0 has no schema endpoint; the catalog is the normalized streams with the profile
 * fields every user may carry (metadata objects included) as attributes.
 */
import { attributeField, identityStreamWithAttributes } from '../sdk/identity-read.ts';
import type { Catalog } from '../sdk/types.ts';
import { ORG_ATTRIBUTES, USER_ATTRIBUTES } from './transform.ts';

export function auth0Catalog(): Catalog {
  return {
    streams: [
      identityStreamWithAttributes('users', { extraFields: USER_ATTRIBUTES.map(([n, t]) => attributeField(n, t, `auth0 ${t}`)), description: 'Users of every connection (database, social, enterprise)' }),
      identityStreamWithAttributes('roles', { description: 'RBAC roles' }),
      identityStreamWithAttributes('role_assignments', { description: 'Roles assigned to users' }),
      identityStreamWithAttributes('groups', { extraFields: ORG_ATTRIBUTES.map(([n, t]) => attributeField(n, t, `auth0 ${t}`)), description: 'Organizations (kind organization)' }),
      identityStreamWithAttributes('memberships', { description: 'Organization members' }),
    ],
  };
}
