/**
 * Auth0 connector config: a machine-to-machine application authorized for the Management API
 * (client credentials, audience `https://{domain}/api/v2/`), how to read more users than the
 * Management API pages through (the users export job), and the log stream's Authorization value
 * for push updates.
 */
import { Type, type Static } from 'typebox';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const SOURCE = 'auth0';

export const Auth0Config = Type.Object(
  {
    domain: Type.String({
      pattern: '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$',
      title: 'Tenant domain',
      description: 'The canonical tenant domain (acme.eu.auth0.com), not a custom domain: the Management API audience is https://{domain}/api/v2/',
    }),
    clientId: Type.String({ minLength: 1, title: 'Client ID', description: 'A Machine to Machine application authorized for the Auth0 Management API' }),
    clientSecret: Type.String({ minLength: 1, 'x-secret': true, title: 'Client secret' }),
    usersStrategy: Type.Union([Type.Literal('auto'), Type.Literal('paged'), Type.Literal('export')], {
      default: 'auto',
      title: 'Reading users',
      description: 'paged: GET /api/v2/users (the Management API pages through the first 1,000 users only); export: a users export job (any size); auto: paged below 1,000 users, the export job above',
    }),
    exportTimeoutMinutes: Type.Integer({ minimum: 1, maximum: 240, default: 30, title: 'Export job time limit (minutes)' }),
    exportPollIntervalMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000, title: 'Export job polling interval (ms)' }),
    logStreamAuthorization: Type.Optional(
      Type.String({ minLength: 16, maxLength: 1024, 'x-secret': true, title: 'Log stream Authorization value', description: 'The exact "Authorization Token" of the Custom Webhook log stream (e.g. "Bearer <random>"); deliveries without it are refused' }),
    ),
    managementBaseUrl: Type.Optional(Type.String({ format: 'uri', title: 'API base URL', description: 'Only when the tenant is not reachable at https://{domain} (private cloud, tests)' })),
  },
  { additionalProperties: false },
);
export type Auth0Config = Static<typeof Auth0Config>;

export function parseAuth0Config(raw: unknown): Auth0Config {
  return parseConnectorConfig(Auth0Config, raw, SOURCE);
}

export const auth0Spec: ConnectorSpec<Auth0Config> = {
  config: Auth0Config,
  authKinds: ['client_credentials'],
  steps: [
    { id: 'tenant', title: 'Tenant', fields: ['domain', 'managementBaseUrl'] },
    { id: 'credentials', title: 'Management API application', description: 'Scopes: read:users, read:roles, read:role_members, read:organizations, read:organization_members', fields: ['clientId', 'clientSecret'] },
    { id: 'users', title: 'Users', fields: ['usersStrategy', 'exportTimeoutMinutes', 'exportPollIntervalMs'] },
    { id: 'push', title: 'Log stream (push updates)', description: 'A Custom Webhook log stream posting JSON arrays to {PIP_PUBLIC_URL}/pip/webhooks/auth0/{connection id}', fields: ['logStreamAuthorization'] },
  ],
  capabilities: { discovery: true, incremental: 'none', webhooks: true, targetedRead: true },
  documentationUrl: 'docs/connectors/auth0.md',
};
