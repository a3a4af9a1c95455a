/**
 * Okta connector config. Three ways to authenticate:
 *   api_token    an SSWS API token (created by a read-only admin)
 *   service_app  an API service app: client credentials with a private_key_jwt assertion
 *                (Okta requires a key, not a secret, for okta.* scopes), scopes granted in the app
 *   oauth_admin  an admin consents in a browser (authorization code + PKCE, `/pip/oauth/...`):
 *                the service keeps the tokens and refreshes them
 */
import { Type, type Static } from 'typebox';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { SourceError } from '../sdk/errors.ts';
import type { ConnectorSpec, OAuthClientAuth, OAuthSpec } from '../sdk/types.ts';

export const SOURCE = 'okta';
export const DEFAULT_SCOPES = ['okta.users.read', 'okta.groups.read'];

export const OktaConfig = Type.Object({
  orgUrl: Type.String({ format: 'uri', minLength: 8, title: 'Okta org URL', description: 'https://<your-org>.okta.com (the org URL, not the -admin one)' }),
  authMethod: Type.Union([Type.Literal('api_token'), Type.Literal('service_app'), Type.Literal('oauth_admin')], {
    default: 'api_token',
    title: 'Authentication',
    description: 'api_token: SSWS token; service_app: OAuth client credentials with private_key_jwt; oauth_admin: an admin authorizes in the browser',
  }),
  apiToken: Type.Optional(Type.String({ minLength: 1, title: 'API token', description: 'SSWS token of a read-only admin', 'x-secret': true })),
  clientId: Type.Optional(Type.String({ minLength: 1, title: 'Client ID' })),
  privateKey: Type.Optional(Type.String({ minLength: 1, title: 'Private key', description: 'PEM or private JWK (JSON) whose public key is registered in the app (private_key_jwt)', 'x-secret': true })),
  keyId: Type.Optional(Type.String({ minLength: 1, title: 'Key ID (kid)', description: 'the kid Okta shows for the registered public key' })),
  clientSecret: Type.Optional(Type.String({ minLength: 1, title: 'Client secret', description: 'oauth_admin with a confidential web app that uses a secret', 'x-secret': true })),
  scopes: Type.Array(Type.String({ minLength: 1 }), { default: DEFAULT_SCOPES, title: 'Scopes', description: 'okta.users.read and okta.groups.read; add okta.schemas.read to discover custom attributes from the schema' }),
  pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 200, title: 'Page size' }),
  deactivatedUsers: Type.Union([Type.Literal('status'), Type.Literal('delete')], {
    default: 'status',
    title: 'Deactivated users',
    description: 'status: keep them with status "deprovisioned"; delete: remove them from the data',
  }),
  webhookAuthHeader: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9-]+$', default: 'Authorization', title: 'Event hook header name' }),
  webhookSecret: Type.Optional(Type.String({ minLength: 16, maxLength: 1024, title: 'Event hook secret', description: 'the value Okta sends in the header above with every delivery', 'x-secret': true })),
  requestTimeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, title: 'Request timeout (ms)' }),
  maxRateLimitWaitSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 300, title: 'Longest rate-limit wait (s)', description: 'a longer wait fails the sync, which is retried later' }),
});
export type OktaConfig = Static<typeof OktaConfig>;

/** the org URL without trailing slashes; refuses the admin console URL and paths */
export function orgBase(orgUrl: string): string {
  let u: URL;
  try {
    u = new URL(orgUrl);
  } catch {
    throw new SourceError(SOURCE, 'orgUrl is not a valid URL', { kind: 'config' });
  }
  if (/-admin\./i.test(u.hostname)) throw new SourceError(SOURCE, `orgUrl points at the admin console (${u.hostname}): use the org URL without "-admin"`, { kind: 'config' });
  if (u.pathname.replace(/\/+$/, '') !== '' || u.search) throw new SourceError(SOURCE, 'orgUrl must be the bare org URL, e.g. https://acme.okta.com (no path)', { kind: 'config' });
  return u.origin;
}

/** Checks the config and what its authentication method needs (names fields, never values). */
export function parseOktaConfig(raw: unknown): OktaConfig {
  const cfg = parseConnectorConfig(OktaConfig, raw, SOURCE);
  const missing = (field: string) => new SourceError(SOURCE, `${field} is required with authMethod ${cfg.authMethod}`, { kind: 'config' });
  orgBase(cfg.orgUrl);
  if (cfg.authMethod === 'api_token' && !cfg.apiToken) throw missing('apiToken');
  if (cfg.authMethod === 'service_app') {
    if (!cfg.clientId) throw missing('clientId');
    if (!cfg.privateKey) throw missing('privateKey');
  }
  if (cfg.authMethod === 'oauth_admin' && !cfg.clientId) throw missing('clientId');
  return cfg;
}

function configOf(raw: Record<string, unknown>): OktaConfig {
  return parseConnectorConfig(OktaConfig, raw, SOURCE);
}

export const oktaOAuth: OAuthSpec<Record<string, unknown>> = {
  enabled: (raw) => raw.authMethod === 'oauth_admin',
  authorizeUrl: (raw) => `${orgBase(configOf(raw).orgUrl)}/oauth2/v1/authorize`,
  tokenUrl: (raw) => `${orgBase(configOf(raw).orgUrl)}/oauth2/v1/token`,
  // offline_access: a refresh token, so the sync keeps working after the hour
  scopes: (raw) => [...new Set([...configOf(raw).scopes, 'offline_access'])],
  pkce: () => true,
  clientId: (raw) => {
    const id = configOf(raw).clientId;
    if (!id) throw new SourceError(SOURCE, 'clientId is required with authMethod oauth_admin', { kind: 'config' });
    return id;
  },
  clientAuth: (raw): OAuthClientAuth => {
    const cfg = configOf(raw);
    if (cfg.privateKey) return { method: 'private_key_jwt', privateKey: cfg.privateKey, keyId: cfg.keyId };
    if (cfg.clientSecret) return { method: 'client_secret_basic', clientSecret: cfg.clientSecret };
    return { method: 'none' };
  },
};

export const oktaSpec: ConnectorSpec<Record<string, unknown>> = {
  config: OktaConfig,
  authKinds: ['api_token', 'client_credentials', 'private_key_jwt', 'oauth2_auth_code_pkce'],
  steps: [
    { id: 'org', title: 'Okta org', fields: ['orgUrl'] },
    { id: 'authentication', title: 'Authentication', fields: ['authMethod', 'apiToken', 'clientId', 'privateKey', 'keyId', 'clientSecret', 'scopes'] },
    { id: 'data', title: 'Data', fields: ['deactivatedUsers', 'pageSize'] },
    { id: 'event_hook', title: 'Event hook', fields: ['webhookAuthHeader', 'webhookSecret'] },
    { id: 'limits', title: 'Limits', fields: ['requestTimeoutMs', 'maxRateLimitWaitSeconds'] },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: true, targetedRead: true },
  documentationUrl: 'docs/connectors/okta.md',
  oauth: oktaOAuth,
};
