/**
 * The catalog: the normalized identity streams (users, groups, memberships), with the
 * attributes of the configured user / group object classes from the subschema (through their
 * superclasses, typed by syntax, multi-valued ones as arrays) listed as extra fields — selected
 * ones are read into `attributes` and at the top level. Configured extra attributes outside
 * those classes (memberOf, operational attributes) are listed too.
 */
import { SourceError } from '../sdk/errors.ts';
import { identityStream } from '../sdk/identity.ts';
import { suggestSensitivity } from '../sdk/sensitivity.ts';
import type { CatalogField, CatalogStream } from '../sdk/types.ts';
import type { DirectorySchema } from './schema.ts';
import type { LdapSession } from './session.ts';
import { consumedAttributes } from './transform.ts';
import { SOURCE } from './vendors.ts';

function configuredExtras(schema: DirectorySchema, names: string[], have: CatalogField[], consumed: string[]): CatalogField[] {
  const taken = new Set([...have.map((f) => f.name.toLowerCase()), ...consumed.map((c) => c.toLowerCase())]);
  const out: CatalogField[] = [];
  for (const name of names) {
    if (taken.has(name.toLowerCase())) continue;
    taken.add(name.toLowerCase());
    const d = schema.describe(name);
    out.push({
      name: d?.name ?? name,
      type: d?.type ?? 'string',
      sourceType: d?.sourceType ?? 'not in the subschema',
      nullable: true,
      suggestedSensitivity: suggestSensitivity(name, d ? schema.valueType(name) : 'string'),
      description: `LDAP attribute ${d?.name ?? name} (configured; also under attributes.${d?.name ?? name})`,
    });
  }
  return out;
}

export async function discoverLdap(session: LdapSession): Promise<CatalogStream[]> {
  const { vendor, config } = session;
  const schema = await session.schema();
  const fieldsOf = (kind: 'users' | 'groups', classes: string[], configured: string[]) => {
    const { unknownClasses } = schema.classAttributes(classes);
    if (unknownClasses.length > 0) {
      throw new SourceError(SOURCE, `object class ${unknownClasses.join(', ')} is not in the directory schema (${kind === 'users' ? 'userObjectClasses' : 'groupObjectClasses'})`, { kind: 'config' });
    }
    const consumed = consumedAttributes(vendor, kind);
    const fields = schema.extraFields(classes, consumed);
    return [...fields, ...configuredExtras(schema, configured, fields, consumed)];
  };
  const users = fieldsOf('users', session.userObjectClasses, config.userAttributes);
  const groups = fieldsOf('groups', session.groupObjectClasses, config.groupAttributes);
  const where = `${vendor.displayName}, id ${vendor.idAttribute}`;
  return [
    identityStream('users', {
      incremental: true,
      extraFields: users,
      description: `Users matching ${session.userFilter} under ${config.userBaseDns.join('; ')} (${where}; incremental by ${vendor.cursor.attribute})`,
    }),
    identityStream('groups', {
      incremental: true,
      extraFields: groups,
      description: `Groups matching ${session.groupFilter} under ${config.groupBaseDns.join('; ')} (${where})`,
    }),
    identityStream('memberships', {
      delta: true,
      description: `Direct members of each group (${vendor.memberAttributes.join(', ')}); a member that is a group is an edge with member_type group. Incremental: members of changed groups.`,
    }),
  ];
}
