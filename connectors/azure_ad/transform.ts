/**
 * Graph objects → normalized identity records. Injected into the reader with these defaults
 * (Backstage msgraph's `UserTransformer` habit): a deployment can map differently without
 * touching the paging.
 */
import { withAttributes } from '../sdk/identity-read.ts';
import { membershipId } from '../sdk/identity.ts';
import type { GraphObject } from './client.ts';

/** Graph properties behind the normalized user fields (always selected) */
export const USER_BASE_PROPERTIES = ['id', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'accountEnabled', 'department', 'jobTitle'];
export const GROUP_BASE_PROPERTIES = ['id', 'displayName', 'description', 'mail', 'mailEnabled', 'securityEnabled', 'groupTypes'];

export type GraphUserTransformer = (user: GraphObject, isSelected: (field: string) => boolean) => Record<string, unknown> | undefined;
export type GraphGroupTransformer = (group: GraphObject, isSelected: (field: string) => boolean) => Record<string, unknown> | undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** a guest's UPN (`alice_contoso.com#EXT#@…`) is not an address */
function emailOf(user: GraphObject): string | undefined {
  const mail = str(user.mail);
  if (mail) return mail;
  const upn = str(user.userPrincipalName);
  return upn && upn.includes('@') && !upn.includes('#EXT#') ? upn : undefined;
}

function extras(obj: GraphObject, base: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!base.includes(k) && !k.startsWith('@') && !k.includes('@')) out[k] = v;
  return out;
}

export const defaultUserTransformer: GraphUserTransformer = (user, isSelected) =>
  withAttributes(
    {
      id: user.id,
      email: emailOf(user),
      username: str(user.userPrincipalName),
      display_name: str(user.displayName),
      given_name: str(user.givenName),
      family_name: str(user.surname),
      status: user.accountEnabled === false ? 'suspended' : 'active',
      department: str(user.department),
      title: str(user.jobTitle),
    },
    extras(user, USER_BASE_PROPERTIES),
    isSelected,
  );

function groupKind(group: GraphObject): string {
  const types = Array.isArray(group.groupTypes) ? (group.groupTypes as string[]) : [];
  if (types.includes('DynamicMembership')) return 'dynamic';
  if (types.includes('Unified')) return 'microsoft365';
  if (group.securityEnabled === true) return 'security';
  return group.mailEnabled === true ? 'distribution' : 'group';
}

export const defaultGroupTransformer: GraphGroupTransformer = (group, isSelected) =>
  withAttributes(
    { id: group.id, name: str(group.displayName) ?? group.id, description: str(group.description), kind: groupKind(group) },
    { mail: group.mail, securityEnabled: group.securityEnabled, mailEnabled: group.mailEnabled, groupTypes: group.groupTypes, ...extras(group, GROUP_BASE_PROPERTIES) },
    isSelected,
  );

/** a directory object's kind from its `@odata.type`, for membership edges */
export function memberType(obj: Record<string, unknown>): 'user' | 'group' | undefined {
  const t = String(obj['@odata.type'] ?? '').toLowerCase();
  if (t.endsWith('.user')) return 'user';
  if (t.endsWith('.group')) return 'group';
  return undefined;
}

export function membershipRecord(groupId: string, type: 'user' | 'group', memberId: string): Record<string, unknown> {
  return { id: membershipId(groupId, type, memberId), group_id: groupId, member_id: memberId, member_type: type };
}
