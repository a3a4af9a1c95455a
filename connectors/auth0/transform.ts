/**
 * Auth0 objects → normalized identity records (injected into the reader, these are the defaults):
 * users, roles and their assignments, organizations as groups (kind `organization`) and their
 * members as memberships.
 */
import { withAttributes } from '../sdk/identity-read.ts';
import { membershipId, roleAssignmentId } from '../sdk/identity.ts';
import type { FieldType } from '../sdk/types.ts';
import type { Auth0Object } from './client.ts';

/** profile fields kept as attributes (read by the list and by the export job alike) */
export const USER_ATTRIBUTES: Array<[name: string, type: FieldType]> = [
  ['email_verified', 'boolean'],
  ['nickname', 'string'],
  ['picture', 'string'],
  ['phone_number', 'string'],
  ['created_at', 'datetime'],
  ['last_login', 'datetime'],
  ['logins_count', 'integer'],
  ['app_metadata', 'object'],
  ['user_metadata', 'object'],
];
/** what the normalized fields are read from */
export const USER_BASE_FIELDS = ['user_id', 'email', 'username', 'name', 'given_name', 'family_name', 'blocked', 'updated_at'];
export const ORG_ATTRIBUTES: Array<[name: string, type: FieldType]> = [
  ['org_name', 'string'],
  ['metadata', 'object'],
];

export type Auth0Transformer = (obj: Auth0Object, isSelected: (field: string) => boolean) => Record<string, unknown> | undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export const defaultUserTransformer: Auth0Transformer = (u, isSelected) => {
  const id = str(u.user_id);
  if (!id) return undefined;
  return withAttributes(
    {
      id,
      email: str(u.email),
      username: str(u.username),
      display_name: str(u.name),
      given_name: str(u.given_name),
      family_name: str(u.family_name),
      status: u.blocked === true ? 'blocked' : 'active',
      updated_at: str(u.updated_at),
    },
    Object.fromEntries(USER_ATTRIBUTES.map(([name]) => [name, u[name]])),
    isSelected,
  );
};

export const defaultOrganizationTransformer: Auth0Transformer = (o, isSelected) => {
  const id = str(o.id);
  if (!id) return undefined;
  return withAttributes({ id, name: str(o.display_name) ?? str(o.name) ?? id, kind: 'organization' }, { org_name: o.name, metadata: o.metadata }, isSelected);
};

export const roleRecord = (r: Auth0Object): Record<string, unknown> => ({ id: String(r.id), name: str(r.name) ?? String(r.id), ...(str(r.description) ? { description: r.description } : {}) });

export const roleAssignment = (roleId: string, userId: string): Record<string, unknown> => ({ id: roleAssignmentId(roleId, 'user', userId), role_id: roleId, principal_id: userId, principal_type: 'user' });

export const orgMembership = (orgId: string, userId: string): Record<string, unknown> => ({ id: membershipId(orgId, 'user', userId), group_id: orgId, member_id: userId, member_type: 'user' });
