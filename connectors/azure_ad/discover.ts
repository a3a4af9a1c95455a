/**
 * Discovery: the normalized users / groups / memberships streams, with every other user and group
 * property the tenant's Graph service declares in its CSDL (`/$metadata`) and the directory
 * extension properties registered in the tenant (`extension_<appId>_<name>`, read when the app
 * may — Directory.Read.All — and skipped with a warning otherwise) as attributes.
 */
import { attributeField, identityStreamWithAttributes } from '../sdk/identity-read.ts';
import { isSourceError } from '../sdk/errors.ts';
import type { Catalog, CatalogField, ConnectorContext, FieldType } from '../sdk/types.ts';
import type { GraphClient } from './client.ts';
import { GROUP_BASE_PROPERTIES, USER_BASE_PROPERTIES } from './transform.ts';

export interface CsdlProperty {
  name: string;
  type: string;
  nullable: boolean;
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/** the structural properties of one EntityType (by its Name) in a CSDL document */
export function csdlProperties(xml: string, entityType: string): CsdlProperty[] {
  const start = new RegExp(`<EntityType\\b[^>]*\\bName="${entityType}"[^>]*>`).exec(xml);
  if (!start) return [];
  const end = xml.indexOf('</EntityType>', start.index);
  const body = xml.slice(start.index + start[0].length, end < 0 ? undefined : end);
  const out: CsdlProperty[] = [];
  for (const m of body.matchAll(/<Property\b[^>]*>/g)) {
    const name = attr(m[0], 'Name');
    const type = attr(m[0], 'Type');
    if (name && type) out.push({ name, type, nullable: attr(m[0], 'Nullable') !== 'false' });
  }
  return out;
}

export function edmFieldType(edm: string): FieldType {
  if (edm.startsWith('Collection(')) return 'array';
  switch (edm) {
    case 'Edm.String':
      return 'string';
    case 'Edm.Boolean':
      return 'boolean';
    case 'Edm.Int16':
    case 'Edm.Int32':
    case 'Edm.Int64':
    case 'Edm.Byte':
      return 'integer';
    case 'Edm.Double':
    case 'Edm.Single':
    case 'Edm.Decimal':
      return 'number';
    case 'Edm.DateTimeOffset':
      return 'datetime';
    case 'Edm.Date':
      return 'date';
    case 'Edm.TimeOfDay':
      return 'time';
    case 'Edm.Guid':
      return 'uuid';
    case 'Edm.Binary':
    case 'Edm.Stream':
      return 'binary';
    default:
      return edm.startsWith('Edm.') ? 'string' : 'object';
  }
}

/** directory extension data types (String, Integer, Boolean, DateTime, Binary, LargeInteger) */
function extensionFieldType(dataType: string, multi: boolean | undefined): FieldType {
  if (multi) return 'array';
  return ({ Integer: 'integer', LargeInteger: 'integer', Boolean: 'boolean', DateTime: 'datetime', Binary: 'binary' } as Record<string, FieldType>)[dataType] ?? 'string';
}

function propertyFields(props: CsdlProperty[], skip: string[]): CatalogField[] {
  return props
    .filter((p) => !skip.includes(p.name) && p.type !== 'Edm.Stream')
    .map((p) => attributeField(p.name, edmFieldType(p.type), p.type));
}

export async function discoverAzureAd(client: GraphClient, ctx: Pick<ConnectorContext, 'logger'>): Promise<Catalog> {
  const xml = await client.metadata();
  const userFields = propertyFields(csdlProperties(xml, 'user'), USER_BASE_PROPERTIES);
  const groupFields = propertyFields(csdlProperties(xml, 'group'), ['id', 'displayName', 'description']);
  try {
    for (const p of await client.extensionProperties()) {
      const field = attributeField(p.name, extensionFieldType(p.dataType, p.isMultiValued), `extension ${p.dataType}`, 'directory extension property');
      if (p.targetObjects.includes('User') && !userFields.some((f) => f.name === p.name)) userFields.push(field);
      if (p.targetObjects.includes('Group') && !groupFields.some((f) => f.name === p.name)) groupFields.push({ ...field });
    }
  } catch (err) {
    if (!isSourceError(err) || (err.kind !== 'permission' && err.kind !== 'config')) throw err;
    ctx.logger.warn({ reason: err.message }, 'directory extension properties not listed (the app needs Directory.Read.All to see them)');
  }
  const transitive = client.cfg.transitiveMembers;
  return {
    streams: [
      identityStreamWithAttributes('users', { delta: true, extraFields: userFields, description: 'Entra ID users (delta queries)' }),
      identityStreamWithAttributes('groups', { delta: true, extraFields: groupFields, description: 'Entra ID groups (delta queries)' }),
      identityStreamWithAttributes('memberships', {
        delta: !transitive,
        description: transitive ? 'Transitive group memberships (nested groups expanded; full sync)' : 'Direct group memberships, users and nested groups (delta queries with members@delta)',
      }),
    ],
  };
}
