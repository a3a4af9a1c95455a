/**
 * Directory API objects → normalized identity records (injected into the reader; these are the
 * defaults). Custom schema values become one attribute per schema, `custom_<SchemaName>`.
 */
import { withAttributes } from '../sdk/identity-read.ts';
import type { FieldType } from '../sdk/types.ts';
import type { GoogleObject } from './client.ts';

export const USER_ATTRIBUTES: Array<[name: string, type: FieldType]> = [
  ['isAdmin', 'boolean'],
  ['isDelegatedAdmin', 'boolean'],
  ['orgUnitPath', 'string'],
  ['archived', 'boolean'],
  ['creationTime', 'datetime'],
  ['lastLoginTime', 'datetime'],
  ['aliases', 'array'],
  ['externalIds', 'array'],
  ['organizations', 'array'],
  ['relations', 'array'],
  ['locations', 'array'],
];
export const GROUP_ATTRIBUTES: Array<[name: string, type: FieldType]> = [
  ['email', 'string'],
  ['directMembersCount', 'integer'],
  ['adminCreated', 'boolean'],
  ['aliases', 'array'],
];

export const customSchemaField = (schemaName: string): string => `custom_${schemaName}`;

export type GoogleTransformer = (obj: GoogleObject, isSelected: (field: string) => boolean) => Record<string, unknown> | undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function primaryOrganization(u: GoogleObject): Record<string, unknown> | undefined {
  const orgs = Array.isArray(u.organizations) ? (u.organizations as Array<Record<string, unknown>>) : [];
  return orgs.find((o) => o.primary === true) ?? orgs[0];
}

function status(u: GoogleObject): string {
  if (u.suspended === true) return 'suspended';
  return u.archived === true ? 'archived' : 'active';
}

export const defaultUserTransformer: GoogleTransformer = (u, isSelected) => {
  const name = (u.name ?? {}) as Record<string, unknown>;
  const org = primaryOrganization(u);
  const extras: Record<string, unknown> = Object.fromEntries(USER_ATTRIBUTES.map(([n]) => [n, u[n]]));
  for (const [schema, values] of Object.entries((u.customSchemas ?? {}) as Record<string, unknown>)) extras[customSchemaField(schema)] = values;
  return withAttributes(
    {
      id: u.id,
      email: str(u.primaryEmail),
      username: str(u.primaryEmail),
      display_name: str(name.fullName),
      given_name: str(name.givenName),
      family_name: str(name.familyName),
      status: status(u),
      department: str(org?.department),
      title: str(org?.title),
    },
    extras,
    isSelected,
  );
};

export const defaultGroupTransformer: GoogleTransformer = (g, isSelected) =>
  withAttributes({ id: g.id, name: str(g.name) ?? str(g.email) ?? g.id, description: str(g.description), kind: 'google_group' }, Object.fromEntries(GROUP_ATTRIBUTES.map(([n]) => [n, g[n]])), isSelected);

/** a member's kind: users (in or outside the domain) and nested groups; the whole-customer member is no edge */
export function memberType(m: GoogleObject): 'user' | 'group' | undefined {
  if (m.type === 'GROUP') return 'group';
  return m.type === 'USER' || m.type === 'EXTERNAL' ? 'user' : undefined;
}
