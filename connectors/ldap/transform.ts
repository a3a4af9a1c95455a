/**
 * Directory entries → normalized identity records (connectors/sdk/identity.ts). The vendor
 * strategy says which attribute feeds which field; extra attributes (configured, or selected in
 * the mapping from the discovered ones) go into `attributes` — typed by the subschema, so a
 * multi-valued attribute is always a list — and, when selected in the mapping, also at the top
 * level under their LDAP name so the mapping can publish them as fields. `attributes.dn` is the
 * entry's DN.
 *
 * Transformers are injectable (Backstage's msgraph habit): `defaultUserTransformer` and
 * `defaultGroupTransformer` are what the reader uses unless told otherwise.
 */
import type { IdentityGroup, IdentityUser } from '../sdk/identity.ts';
import type { FieldType } from '../sdk/types.ts';
import { first, rawValues, type LdapEntry, type LdapValue } from './entry.ts';
import type { DirectorySchema } from './schema.ts';
import { generalizedTimeToIso, type LdapVendor } from './vendors.ts';

export const USER_FIELDS = ['id', 'email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title', 'manager_id', 'updated_at', 'attributes'];
export const GROUP_FIELDS = ['id', 'name', 'description', 'kind', 'updated_at', 'attributes'];

/** What extra attributes to read and where to put them. */
export interface ExtraAttributes {
  /** LDAP attribute names read into `attributes` */
  names: string[];
  /** lower-cased names also emitted at the top level (selected in the mapping) */
  topLevel: Set<string>;
  schema?: DirectorySchema;
}

export const NO_EXTRAS: ExtraAttributes = { names: [], topLevel: new Set() };

/**
 * The extras of one stream: configured attributes plus the mapping's selected fields that are not
 * normalized field names (those are discovered LDAP attributes).
 */
export function extraAttributes(configured: string[], selectedFields: string[], normalized: string[]): { names: string[]; topLevel: Set<string> } {
  const normal = new Set(normalized);
  const selectedExtras = selectedFields.filter((f) => !normal.has(f));
  const names = new Map<string, string>();
  for (const n of [...configured, ...selectedExtras]) if (!names.has(n.toLowerCase())) names.set(n.toLowerCase(), n);
  return { names: [...names.values()], topLevel: new Set(selectedExtras.map((n) => n.toLowerCase())) };
}

/** Attributes the normalized fields of users or groups consume (never offered again as extras), and the normalized names. */
export function consumedAttributes(vendor: LdapVendor, kind: 'users' | 'groups'): string[] {
  const f = vendor.fields;
  const common = [vendor.idAttribute, 'objectClass', f.updatedAt, vendor.cursor.attribute];
  if (kind === 'users') {
    return [...common, ...USER_FIELDS, ...f.email, ...f.username, ...f.displayName, ...f.givenName, ...f.familyName, ...f.department, ...f.title, f.manager, ...vendor.statusAttributes];
  }
  return [...common, ...GROUP_FIELDS, ...f.groupName, ...f.groupDescription, ...vendor.groupKindAttributes, ...vendor.memberAttributes];
}

export function userAttributesToRead(vendor: LdapVendor, extras: ExtraAttributes): string[] {
  const f = vendor.fields;
  const list = [vendor.idAttribute, ...f.email, ...f.username, ...f.displayName, ...f.givenName, ...f.familyName, ...f.department, ...f.title, f.manager, f.updatedAt, vendor.cursor.attribute, ...vendor.statusAttributes, ...extras.names];
  return [...new Map(list.map((a) => [a.toLowerCase(), a])).values()];
}

export function groupAttributesToRead(vendor: LdapVendor, extras: ExtraAttributes): string[] {
  const f = vendor.fields;
  const list = [vendor.idAttribute, ...f.groupName, ...f.groupDescription, f.updatedAt, vendor.cursor.attribute, ...vendor.groupKindAttributes, ...extras.names];
  return [...new Map(list.map((a) => [a.toLowerCase(), a])).values()];
}

function convert(value: LdapValue, type: FieldType): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  switch (type) {
    case 'integer': {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'boolean':
      return value.toUpperCase() === 'TRUE' ? true : value.toUpperCase() === 'FALSE' ? false : value;
    case 'datetime':
      return generalizedTimeToIso(value) ?? value;
    default:
      return value;
  }
}

/** The extra attribute values of an entry: single-valued attributes as a value, others as a list. */
export function extraValues(entry: LdapEntry, extras: ExtraAttributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of extras.names) {
    const raw = rawValues(entry, name);
    if (raw.length === 0) continue;
    const described = extras.schema?.describe(name);
    const type = extras.schema?.valueType(name) ?? 'string';
    const converted = raw.map((v) => convert(v, type));
    out[name] = described ? (described.singleValue ? converted[0] : converted) : converted.length === 1 ? converted[0] : converted;
  }
  return out;
}

export interface UserContext {
  vendor: LdapVendor;
  extras: ExtraAttributes;
  /** the manager's id when the manager DN resolved to a user in scope */
  managerId?: string;
}

export type UserTransformer = (entry: LdapEntry, ctx: UserContext) => (IdentityUser & Record<string, unknown>) | undefined;
export type GroupTransformer = (entry: LdapEntry, ctx: { vendor: LdapVendor; extras: ExtraAttributes }) => (IdentityGroup & Record<string, unknown>) | undefined;

function withExtras<T extends Record<string, unknown>>(record: T, entry: LdapEntry, extras: ExtraAttributes): T {
  const values = extraValues(entry, extras);
  const out: Record<string, unknown> = { ...record, attributes: { dn: entry.dn, ...values } };
  for (const [name, v] of Object.entries(values)) if (extras.topLevel.has(name.toLowerCase())) out[name] = v;
  return out as T;
}

function compact<T extends Record<string, unknown>>(record: T): T {
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return record;
}

export const defaultUserTransformer: UserTransformer = (entry, { vendor, extras, managerId }) => {
  const id = vendor.id(entry);
  if (id === undefined) return undefined;
  const f = vendor.fields;
  return withExtras(
    compact({
      id,
      email: first(entry, ...f.email),
      username: first(entry, ...f.username),
      display_name: first(entry, ...f.displayName),
      given_name: first(entry, ...f.givenName),
      family_name: first(entry, ...f.familyName),
      status: vendor.userStatus(entry),
      department: first(entry, ...f.department),
      title: first(entry, ...f.title),
      manager_id: managerId,
      updated_at: generalizedTimeToIso(first(entry, f.updatedAt)),
    }),
    entry,
    extras,
  );
};

export const defaultGroupTransformer: GroupTransformer = (entry, { vendor, extras }) => {
  const id = vendor.id(entry);
  if (id === undefined) return undefined;
  const f = vendor.fields;
  return withExtras(
    compact({
      id,
      name: first(entry, ...f.groupName) ?? entry.dn,
      description: first(entry, ...f.groupDescription),
      kind: vendor.groupKind(entry),
      updated_at: generalizedTimeToIso(first(entry, f.updatedAt)),
    }),
    entry,
    extras,
  );
};
