/**
 * Microsoft Entra ID (Azure AD) connector config: an app registration with application permissions
 * to Microsoft Graph, authenticated with a client secret or a certificate (private_key_jwt).
 * The base URLs are configurable for national clouds (and for tests).
 */
import { Type, type Static } from 'typebox';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { SourceError } from '../sdk/errors.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const SOURCE = 'azure_ad';

export const AzureAdConfig = Type.Object(
  {
    tenantId: Type.String({ minLength: 1, maxLength: 256, title: 'Directory (tenant) ID', description: 'The tenant GUID, or its primary domain (contoso.onmicrosoft.com)' }),
    clientId: Type.String({ minLength: 1, maxLength: 256, title: 'Application (client) ID' }),
    authMethod: Type.Union([Type.Literal('client_secret'), Type.Literal('certificate')], { default: 'client_secret', title: 'Credential', description: 'A client secret, or a certificate whose private key signs a client assertion' }),
    clientSecret: Type.Optional(Type.String({ minLength: 1, 'x-secret': true, title: 'Client secret (value)' })),
    certificatePrivateKey: Type.Optional(Type.String({ minLength: 1, 'x-secret': true, title: 'Certificate private key (PEM)' })),
    certificateThumbprint: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){19}$', title: 'Certificate thumbprint', description: 'The SHA-1 thumbprint the portal shows under Certificates & secrets (hex)' })),
    transitiveMembers: Type.Boolean({ default: false, title: 'Transitive memberships', description: 'Memberships include members of nested groups (full sync only; direct memberships follow delta queries)' }),
    changeNotifications: Type.Boolean({ default: false, title: 'Change notifications', description: 'Subscribe to user and group changes (Graph webhooks) for near-real-time updates' }),
    clientState: Type.Optional(Type.String({ minLength: 16, maxLength: 128, 'x-secret': true, title: 'Notification client state', description: 'A random secret Graph echoes in every notification (16–128 characters)' })),
    subscriptionLifetimeMinutes: Type.Integer({ minimum: 60, maximum: 41_760, default: 4_320, title: 'Subscription lifetime (minutes)', description: 'Renewed well before expiry; at most 41,760 (29 days) for users and groups' }),
    authorityUrl: Type.String({ format: 'uri', default: 'https://login.microsoftonline.com', title: 'Authority URL', description: 'Microsoft identity platform host (national clouds: login.microsoftonline.us, login.chinacloudapi.cn)' }),
    graphUrl: Type.String({ format: 'uri', default: 'https://graph.microsoft.com/v1.0', title: 'Microsoft Graph URL' }),
  },
  { additionalProperties: false },
);
export type AzureAdConfig = Static<typeof AzureAdConfig>;

export function parseAzureAdConfig(raw: unknown): AzureAdConfig {
  const cfg = parseConnectorConfig(AzureAdConfig, raw, SOURCE);
  if (cfg.authMethod === 'client_secret' && !cfg.clientSecret) throw new SourceError(SOURCE, 'invalid configuration: clientSecret is required with authMethod client_secret', { kind: 'config' });
  if (cfg.authMethod === 'certificate' && (!cfg.certificatePrivateKey || !cfg.certificateThumbprint)) {
    throw new SourceError(SOURCE, 'invalid configuration: certificatePrivateKey and certificateThumbprint are required with authMethod certificate', { kind: 'config' });
  }
  if (cfg.changeNotifications && !cfg.clientState) throw new SourceError(SOURCE, 'invalid configuration: clientState is required when changeNotifications is on', { kind: 'config' });
  return cfg;
}

export const azureAdSpec: ConnectorSpec<AzureAdConfig> = {
  config: AzureAdConfig,
  authKinds: ['client_credentials', 'private_key_jwt'],
  steps: [
    { id: 'app', title: 'App registration', description: 'The tenant and the application registered for the PIP service', fields: ['tenantId', 'clientId'] },
    { id: 'credentials', title: 'Credentials', description: 'A client secret, or a certificate uploaded to the app registration', fields: ['authMethod', 'clientSecret', 'certificatePrivateKey', 'certificateThumbprint'] },
    { id: 'directory', title: 'Directory', fields: ['transitiveMembers'] },
    { id: 'notifications', title: 'Change notifications', description: 'Graph posts changes to {PIP_PUBLIC_URL}/pip/webhooks/azure_ad/{connection id} (must be reachable over HTTPS)', fields: ['changeNotifications', 'clientState', 'subscriptionLifetimeMinutes'] },
    { id: 'advanced', title: 'Cloud endpoints', fields: ['authorityUrl', 'graphUrl'] },
  ],
  capabilities: { discovery: true, incremental: 'delta', webhooks: true, targetedRead: true },
  documentationUrl: 'docs/connectors/azure-ad.md',
};
