/**
 * Google Workspace connector config: a service account key with domain-wide delegation, the admin
 * it impersonates, and push notifications for users through watch channels.
 */
import { Type, type Static } from 'typebox';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { SourceError } from '../sdk/errors.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const SOURCE = 'google_workspace';

export const DIRECTORY_SCOPES = {
  users: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
  groups: 'https://www.googleapis.com/auth/admin.directory.group.readonly',
  schemas: 'https://www.googleapis.com/auth/admin.directory.userschema.readonly',
};

export const WATCH_EVENTS = ['add', 'delete', 'makeAdmin', 'undelete', 'update'] as const;

export const GoogleWorkspaceConfig = Type.Object(
  {
    serviceAccountKey: Type.String({ minLength: 2, 'x-secret': true, title: 'Service account key (JSON)', description: 'The JSON key of a service account whose client ID has domain-wide delegation for the read-only directory scopes' }),
    adminEmail: Type.String({ format: 'email', title: 'Admin to impersonate', description: 'A Workspace administrator who may read users and groups' }),
    customer: Type.String({ minLength: 1, default: 'my_customer', title: 'Customer ID', description: 'my_customer (the admin\'s account) or a customer ID such as C01abcde' }),
    readCustomSchemas: Type.Boolean({ default: false, title: 'Custom user attributes', description: 'Discover custom schemas (needs the admin.directory.userschema.readonly scope delegated too)' }),
    pushNotifications: Type.Boolean({ default: false, title: 'Push notifications for users', description: 'Watch channels on users; groups are polled' }),
    channelToken: Type.Optional(Type.String({ minLength: 16, maxLength: 256, 'x-secret': true, title: 'Channel token', description: 'A random secret Google sends back in X-Goog-Channel-Token with every notification' })),
    watchEvents: Type.Array(Type.Union([Type.Literal('add'), Type.Literal('delete'), Type.Literal('makeAdmin'), Type.Literal('undelete'), Type.Literal('update')]), { default: [...WATCH_EVENTS], minItems: 1, uniqueItems: true, title: 'User events to watch' }),
    channelLifetimeHours: Type.Integer({ minimum: 1, maximum: 720, default: 6, title: 'Channel lifetime (hours)', description: 'Channels are recreated before they expire; Google may grant less' }),
    apiUrl: Type.String({ format: 'uri', default: 'https://admin.googleapis.com/admin/directory/v1', title: 'Directory API URL' }),
  },
  { additionalProperties: false },
);
export type GoogleWorkspaceConfig = Static<typeof GoogleWorkspaceConfig>;

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** the fields of a service account JSON key this connector uses (the key text itself is never echoed) */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SourceError(SOURCE, 'invalid configuration: serviceAccountKey is not JSON (paste the whole key file)', { kind: 'config' });
  }
  const str = (name: string) => (typeof key[name] === 'string' && key[name] !== '' ? (key[name] as string) : undefined);
  if (key.type !== undefined && key.type !== 'service_account') throw new SourceError(SOURCE, 'invalid configuration: serviceAccountKey is not a service account key', { kind: 'config' });
  const clientEmail = str('client_email');
  const privateKey = str('private_key');
  if (!clientEmail || !privateKey) throw new SourceError(SOURCE, 'invalid configuration: serviceAccountKey lacks client_email or private_key', { kind: 'config' });
  const tokenUri = str('token_uri') ?? 'https://oauth2.googleapis.com/token';
  try {
    new URL(tokenUri);
  } catch {
    throw new SourceError(SOURCE, 'invalid configuration: the token_uri of serviceAccountKey is not a URL', { kind: 'config' });
  }
  return { client_email: clientEmail, private_key: privateKey, private_key_id: str('private_key_id'), token_uri: tokenUri };
}

export function parseGoogleWorkspaceConfig(raw: unknown): GoogleWorkspaceConfig & { key: ServiceAccountKey } {
  const cfg = parseConnectorConfig(GoogleWorkspaceConfig, raw, SOURCE);
  if (cfg.pushNotifications && !cfg.channelToken) throw new SourceError(SOURCE, 'invalid configuration: channelToken is required when pushNotifications is on', { kind: 'config' });
  return { ...cfg, key: parseServiceAccountKey(cfg.serviceAccountKey) };
}

export const googleWorkspaceSpec: ConnectorSpec<GoogleWorkspaceConfig> = {
  config: GoogleWorkspaceConfig,
  authKinds: ['service_account'],
  steps: [
    { id: 'service_account', title: 'Service account', description: 'Domain-wide delegation for admin.directory.user.readonly and admin.directory.group.readonly', fields: ['serviceAccountKey', 'adminEmail', 'customer'] },
    { id: 'directory', title: 'Directory', fields: ['readCustomSchemas'] },
    { id: 'push', title: 'Push notifications', description: 'Google posts user changes to {PIP_PUBLIC_URL}/pip/webhooks/google_workspace/{connection id} (HTTPS, a domain you verified)', fields: ['pushNotifications', 'channelToken', 'watchEvents', 'channelLifetimeHours'] },
    { id: 'advanced', title: 'Endpoint', fields: ['apiUrl'] },
  ],
  capabilities: { discovery: true, incremental: 'none', webhooks: true, targetedRead: true },
  documentationUrl: 'docs/connectors/google-workspace.md',
};
