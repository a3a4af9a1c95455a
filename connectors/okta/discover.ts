/**
 * The Okta catalog: the normalized users / groups / memberships streams, with the custom profile
 * attributes of the user schema (`/api/v1/meta/schemas/user/default`, `definitions.custom`) as
 * extra user fields. When the credentials may not read the schema (OAuth without
 * okta.schemas.read), the custom attributes are inferred from a page of users instead.
 */
import { SourceError } from '../sdk/errors.ts';
import { identityStream } from '../sdk/identity.ts';
import { suggestSensitivity } from '../sdk/sensitivity.ts';
import type { Catalog, CatalogField, FieldType } from '../sdk/types.ts';
import type { OktaClient } from './client.ts';
import { MAPPED_PROFILE } from './read.ts';

const NORMALIZED = new Set(['id', 'email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title', 'manager_id', 'updated_at', 'attributes']);

const TYPES: Record<string, FieldType> = { string: 'string', integer: 'integer', number: 'number', boolean: 'boolean', array: 'array', object: 'object' };

function field(name: string, type: FieldType, sourceType: string, description: string): CatalogField {
  return { name, type, sourceType, nullable: true, suggestedSensitivity: suggestSensitivity(name, type), description: `${description} (also under attributes.${name})` };
}

function typeOfValue(v: unknown): FieldType {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (Array.isArray(v)) return 'array';
  if (v !== null && typeof v === 'object') return 'object';
  return 'string';
}

/** profile attributes beyond the normalized fields, from the schema: base ones too, since admins use them */
function schemaFields(schema: Record<string, unknown>): CatalogField[] {
  const defs = (schema.definitions ?? {}) as Record<string, { properties?: Record<string, { type?: string; title?: string }> }>;
  const out: CatalogField[] = [];
  for (const [section, def] of [['custom', defs.custom], ['base', defs.base]] as const) {
    for (const [name, prop] of Object.entries(def?.properties ?? {})) {
      if (MAPPED_PROFILE.has(name) || NORMALIZED.has(name) || out.some((f) => f.name === name)) continue;
      const type = TYPES[prop.type ?? 'string'] ?? 'string';
      out.push(field(name, type, `okta ${section} ${prop.type ?? 'string'}`, `Okta ${section} profile attribute${prop.title && prop.title !== name ? ` "${prop.title}"` : ''}`));
    }
  }
  return out;
}

async function sampledFields(client: OktaClient): Promise<CatalogField[]> {
  const seen = new Map<string, unknown>();
  for await (const page of client.listUsers()) {
    for (const u of page.items) for (const [k, v] of Object.entries(u.profile ?? {})) if (v !== null && v !== undefined && !seen.has(k)) seen.set(k, v);
    break;
  }
  return [...seen.entries()]
    .filter(([k]) => !MAPPED_PROFILE.has(k) && !NORMALIZED.has(k))
    .map(([k, v]) => field(k, typeOfValue(v), `okta profile ${typeOfValue(v)}`, 'Okta profile attribute (seen in user profiles)'));
}

export async function discoverOkta(client: OktaClient): Promise<Catalog> {
  let extra: CatalogField[];
  try {
    const schema = await client.userSchema();
    extra = schema ? schemaFields(schema) : await sampledFields(client);
  } catch (err) {
    if (!(err instanceof SourceError) || err.kind !== 'permission') throw err;
    extra = await sampledFields(client);
  }
  extra.sort((a, b) => a.name.localeCompare(b.name));
  return {
    streams: [
      identityStream('users', { incremental: true, extraFields: extra, description: 'Okta users (deactivated ones with status deprovisioned unless configured to delete them)' }),
      identityStream('groups', { incremental: true, description: 'Okta groups (Okta, app and built-in groups)' }),
      identityStream('memberships', { delta: true, description: 'Direct group memberships; incremental re-reads only groups whose membership changed' }),
    ],
  };
}
