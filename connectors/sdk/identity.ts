/**
 * Normalized identity streams: what every identity connector (LDAP/AD, Okta, Microsoft Graph,
 * Auth0, Google Workspace) emits, whatever the provider calls things. The data plane merges
 * these across connections into `data.pip.<tenant>.users` and `.groups` (see ARCHITECTURE.md).
 *
 * Stream names are fixed (`users`, `groups`, `memberships`, `roles`, `role_assignments`), and
 * so are the field names below; a connector may add provider fields under `attributes`.
 * Every record carries the provider's stable id in `id` (entryUUID / objectGUID / Okta id…).
 */
import { Type, type Static } from 'typebox';
import type { CatalogField, CatalogStream, FieldType, Sensitivity } from './types.ts';

export const IDENTITY_STREAMS = ['users', 'groups', 'memberships', 'roles', 'role_assignments'] as const;
export type IdentityStream = (typeof IDENTITY_STREAMS)[number];

export const IdentityUser = Type.Object({
  id: Type.String(),
  email: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  display_name: Type.Optional(Type.String()),
  given_name: Type.Optional(Type.String()),
  family_name: Type.Optional(Type.String()),
  /** active | suspended | deprovisioned | staged … (provider status, lowercased) */
  status: Type.Optional(Type.String()),
  department: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
  manager_id: Type.Optional(Type.String()),
  updated_at: Type.Optional(Type.String()),
  /** provider-specific extra fields (custom attributes, extension attributes) */
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type IdentityUser = Static<typeof IdentityUser>;

export const IdentityGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  /** e.g. security | distribution | okta_group | app_group | dynamic */
  kind: Type.Optional(Type.String()),
  updated_at: Type.Optional(Type.String()),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type IdentityGroup = Static<typeof IdentityGroup>;

/** a direct membership edge; nested groups are edges with member_type 'group' */
export const IdentityMembership = Type.Object({
  /** `${group_id}:${member_type}:${member_id}` — the primary key */
  id: Type.String(),
  group_id: Type.String(),
  member_id: Type.String(),
  member_type: Type.Union([Type.Literal('user'), Type.Literal('group')]),
});
export type IdentityMembership = Static<typeof IdentityMembership>;

export const IdentityRole = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type IdentityRole = Static<typeof IdentityRole>;

/** a role held by a user or a group (directly) */
export const IdentityRoleAssignment = Type.Object({
  /** `${role_id}:${principal_type}:${principal_id}` */
  id: Type.String(),
  role_id: Type.String(),
  principal_id: Type.String(),
  principal_type: Type.Union([Type.Literal('user'), Type.Literal('group')]),
});
export type IdentityRoleAssignment = Static<typeof IdentityRoleAssignment>;

export const membershipId = (groupId: string, memberType: 'user' | 'group', memberId: string) => `${groupId}:${memberType}:${memberId}`;
export const roleAssignmentId = (roleId: string, principalType: 'user' | 'group', principalId: string) => `${roleId}:${principalType}:${principalId}`;

type FieldSpec = [name: string, type: FieldType, sensitivity: Sensitivity, nullable?: boolean];

const field = ([name, type, suggestedSensitivity, nullable = true]: FieldSpec): CatalogField => ({ name, type, sourceType: type, nullable, suggestedSensitivity });

const STREAM_FIELDS: Record<IdentityStream, FieldSpec[]> = {
  users: [
    ['id', 'string', 'internal', false],
    ['email', 'string', 'confidential'],
    ['username', 'string', 'internal'],
    ['display_name', 'string', 'internal'],
    ['given_name', 'string', 'internal'],
    ['family_name', 'string', 'internal'],
    ['status', 'string', 'internal'],
    ['department', 'string', 'internal'],
    ['title', 'string', 'internal'],
    ['manager_id', 'string', 'internal'],
    ['updated_at', 'datetime', 'public'],
    ['attributes', 'object', 'internal'],
  ],
  groups: [
    ['id', 'string', 'internal', false],
    ['name', 'string', 'internal', false],
    ['description', 'string', 'internal'],
    ['kind', 'string', 'internal'],
    ['updated_at', 'datetime', 'public'],
    ['attributes', 'object', 'internal'],
  ],
  memberships: [
    ['id', 'string', 'internal', false],
    ['group_id', 'string', 'internal', false],
    ['member_id', 'string', 'internal', false],
    ['member_type', 'string', 'internal', false],
  ],
  roles: [
    ['id', 'string', 'internal', false],
    ['name', 'string', 'internal', false],
    ['description', 'string', 'internal'],
    ['attributes', 'object', 'internal'],
  ],
  role_assignments: [
    ['id', 'string', 'internal', false],
    ['role_id', 'string', 'internal', false],
    ['principal_id', 'string', 'internal', false],
    ['principal_type', 'string', 'internal', false],
  ],
};

/**
 * The catalog entry of a normalized identity stream. `extraFields` adds provider attributes
 * discovered live (custom profile attributes, extension attributes) — they are read into
 * `attributes`, and listed here so the admin can see and classify them.
 */
export function identityStream(
  name: IdentityStream,
  opts: {
    /** incremental by the `updated_at` cursor */
    incremental?: boolean;
    /** incremental by a provider delta token kept in the stream state (no cursor field) */
    delta?: boolean;
    extraFields?: CatalogField[];
    description?: string;
  } = {},
): CatalogStream {
  const fields = STREAM_FIELDS[name].map(field);
  const hasCursor = fields.some((f) => f.name === 'updated_at');
  return {
    name,
    kind: name === 'memberships' || name === 'role_assignments' ? 'relation' : 'entity',
    fields: [...fields, ...(opts.extraFields ?? [])],
    primaryKey: ['id'],
    cursorCandidates: opts.incremental && hasCursor ? ['updated_at'] : [],
    relations:
      name === 'memberships'
        ? [{ fields: ['group_id'], references: { stream: 'groups', fields: ['id'] } }]
        : name === 'role_assignments'
          ? [{ fields: ['role_id'], references: { stream: 'roles', fields: ['id'] } }]
          : [],
    supportedSyncModes: opts.incremental || opts.delta ? ['full', 'incremental'] : ['full'],
    description: opts.description,
  };
}
