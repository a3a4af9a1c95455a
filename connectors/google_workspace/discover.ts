/**
 * Discovery: the normalized users / groups / memberships streams with the Directory API's user and
 * group fields as attributes, and — when enabled and the scope is delegated — each custom schema
 * of the customer as one attribute.
 */
import { attributeField, identityStreamWithAttributes } from '../sdk/identity-read.ts';
import { isSourceError } from '../sdk/errors.ts';
import type { Catalog, ConnectorContext } from '../sdk/types.ts';
import type { GoogleDirectoryClient } from './client.ts';
import { customSchemaField, GROUP_ATTRIBUTES, USER_ATTRIBUTES } from './transform.ts';

export async function discoverGoogleWorkspace(client: GoogleDirectoryClient, ctx: Pick<ConnectorContext, 'logger'>): Promise<Catalog> {
  const userFields = USER_ATTRIBUTES.map(([n, t]) => attributeField(n, t, `directory ${t}`));
  if (client.cfg.readCustomSchemas) {
    try {
      for (const s of await client.schemas()) {
        const fields = (s.fields ?? []).map((f) => `${f.fieldName} (${f.fieldType}${f.multiValued ? ', multi' : ''})`).join(', ');
        userFields.push(attributeField(customSchemaField(s.schemaName), 'object', 'custom schema', `custom schema ${s.schemaName}: ${fields}`));
      }
    } catch (err) {
      if (!isSourceError(err) || err.kind !== 'permission') throw err;
      ctx.logger.warn({ reason: err.message }, 'custom schemas not listed (delegate admin.directory.userschema.readonly to read them)');
    }
  }
  return {
    streams: [
      identityStreamWithAttributes('users', { extraFields: userFields, description: 'Workspace users (push notifications keep them current)' }),
      identityStreamWithAttributes('groups', { extraFields: GROUP_ATTRIBUTES.map(([n, t]) => attributeField(n, t, `directory ${t}`)), description: 'Workspace groups (polled)' }),
      identityStreamWithAttributes('memberships', { description: 'Group members: users and nested groups (polled)' }),
    ],
  };
}
