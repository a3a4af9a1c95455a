/**
 * Config pieces every HTTP connector shares, so the wizard asks the same questions the same way:
 * authentication (none, API key in a header or the query, basic, bearer, OAuth2 client
 * credentials with a client secret or private_key_jwt), extra headers, and a rate-limit policy.
 * Properties are top-level (wizard steps name top-level fields); secrets carry `'x-secret': true`.
 */
import { Type, type Static } from 'typebox';
import { SourceError } from '../errors.ts';
import type { AuthKind } from '../types.ts';
import { apiKeyAuth, basicAuth, bearerAuth, noAuth, oauth2ClientCredentials, type AuthStrategy } from './auth.ts';
import { rateLimitPolicy, type RateLimitPolicy } from './rate-limit.ts';

export const HTTP_AUTH_TYPES = ['none', 'api_key', 'basic', 'bearer', 'client_credentials', 'private_key_jwt'] as const;
export type HttpAuthType = (typeof HTTP_AUTH_TYPES)[number];

const opt = (title: string, description?: string, extra: Record<string, unknown> = {}) =>
  Type.Optional(Type.String({ minLength: 1, title, ...(description ? { description } : {}), ...extra }));

export const HttpAuthProperties = {
  authType: Type.Union(
    [Type.Literal('none'), Type.Literal('api_key'), Type.Literal('basic'), Type.Literal('bearer'), Type.Literal('client_credentials'), Type.Literal('private_key_jwt')],
    { default: 'none', title: 'Authentication', description: 'none, api_key, basic, bearer, client_credentials or private_key_jwt' },
  ),
  apiKeyIn: Type.Union([Type.Literal('header'), Type.Literal('query')], { default: 'header', title: 'Send the API key in' }),
  apiKeyName: Type.String({ minLength: 1, default: 'X-API-Key', title: 'API key header or query parameter name' }),
  apiKeyPrefix: opt('API key prefix', 'Put before the key, e.g. "SSWS " or "Token "'),
  apiKey: opt('API key', undefined, { 'x-secret': true }),
  username: opt('Username'),
  password: opt('Password', undefined, { 'x-secret': true }),
  bearerToken: opt('Bearer token', undefined, { 'x-secret': true }),
  tokenUrl: opt('OAuth2 token URL', 'The token endpoint, e.g. https://example.okta.com/oauth2/v1/token', { format: 'uri' }),
  clientId: opt('OAuth2 client ID'),
  clientSecret: opt('OAuth2 client secret', undefined, { 'x-secret': true }),
  privateKeyPem: opt('Private key (PEM or JWK) for private_key_jwt', undefined, { 'x-secret': true }),
  privateKeyId: opt('Key ID (kid) for private_key_jwt'),
  scopes: opt('OAuth2 scopes', 'Space-separated'),
  audience: opt('OAuth2 audience', 'Auth0 API identifier, when the token endpoint needs one'),
  extraHeaders: Type.Record(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), Type.String(), {
    default: {},
    title: 'Extra headers',
    description: 'Sent with every request (not secret: use the API key fields for credentials)',
  }),
};

/** wizard step fields for authentication */
export const HTTP_AUTH_FIELDS = Object.keys(HttpAuthProperties);
export const HTTP_AUTH_KINDS: AuthKind[] = ['none', 'api_key', 'basic', 'bearer', 'client_credentials', 'private_key_jwt'];

const HttpAuthObject = Type.Object(HttpAuthProperties);
export type HttpAuthConfig = Static<typeof HttpAuthObject>;

export const RateLimitConfig = Type.Object(
  {
    statuses: Type.Array(Type.Integer({ minimum: 400, maximum: 599 }), { default: [429], title: 'Statuses that mean "throttled"' }),
    retryAfterHeaders: Type.Array(Type.String({ minLength: 1 }), { default: ['retry-after'], title: 'Retry-After headers' }),
    resetHeaders: Type.Array(Type.String({ minLength: 1 }), {
      default: ['x-rate-limit-reset', 'x-ratelimit-reset', 'ratelimit-reset'],
      title: 'Reset headers (epoch seconds or delta seconds)',
    }),
    remainingHeaders: Type.Array(Type.String({ minLength: 1 }), {
      default: ['x-rate-limit-remaining', 'x-ratelimit-remaining', 'ratelimit-remaining'],
      title: 'Remaining-calls headers',
    }),
    lowWater: Type.Integer({ minimum: 0, default: 0, title: 'Wait for the reset at this many remaining calls' }),
    maxWaitSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 300, title: 'Longest single wait before failing' }),
  },
  { default: {}, title: 'Rate limits' },
);
export type RateLimitConfig = Static<typeof RateLimitConfig>;

function required<T>(source: string, config: HttpAuthConfig, name: keyof HttpAuthConfig): T {
  const value = config[name];
  if (value === undefined || value === '') {
    throw new SourceError(source, `authentication ${config.authType} needs ${String(name)}`, { kind: 'config', detail: { field: name } });
  }
  return value as T;
}

const scopesOf = (config: HttpAuthConfig) => config.scopes?.split(/[\s,]+/).filter(Boolean);

/** One factory per auth type: the config's fields → an AuthStrategy (missing fields are config errors). */
const AUTH_FACTORIES: Record<HttpAuthType, (source: string, c: HttpAuthConfig) => AuthStrategy> = {
  none: () => noAuth,
  api_key: (s, c) => apiKeyAuth({ in: c.apiKeyIn, name: c.apiKeyName, prefix: c.apiKeyPrefix, value: required(s, c, 'apiKey') }),
  basic: (s, c) => basicAuth(required(s, c, 'username'), required(s, c, 'password')),
  bearer: (s, c) => bearerAuth(required(s, c, 'bearerToken')),
  client_credentials: (s, c) =>
    oauth2ClientCredentials({ tokenUrl: required(s, c, 'tokenUrl'), clientId: required(s, c, 'clientId'), clientSecret: required(s, c, 'clientSecret'), scope: scopesOf(c), audience: c.audience }),
  private_key_jwt: (s, c) =>
    oauth2ClientCredentials({
      tokenUrl: required(s, c, 'tokenUrl'),
      clientId: required(s, c, 'clientId'),
      privateKeyJwt: { privateKeyPem: required(s, c, 'privateKeyPem'), keyId: c.privateKeyId },
      scope: scopesOf(c),
      audience: c.audience,
    }),
};

export function authFromConfig(source: string, config: HttpAuthConfig): AuthStrategy {
  return AUTH_FACTORIES[config.authType](source, config);
}

export function rateLimitFromConfig(config: RateLimitConfig, budgetKey?: string): RateLimitPolicy {
  return rateLimitPolicy({
    statuses: config.statuses,
    retryAfterHeaders: config.retryAfterHeaders,
    resetHeaders: config.resetHeaders,
    remainingHeaders: config.remainingHeaders,
    lowWater: config.lowWater,
    maxWaitMs: config.maxWaitSeconds * 1000,
    budgetKey,
  });
}

/** Hosts a config contacts, for the network guard: the given URLs plus the token URL. */
export function httpTargets(urls: Array<string | undefined>, auth?: Pick<HttpAuthConfig, 'authType' | 'tokenUrl'>): string[] {
  const hosts = new Set<string>();
  const all = [...urls, auth && auth.authType !== 'none' ? auth.tokenUrl : undefined];
  for (const u of all) {
    if (!u) continue;
    try {
      hosts.add(new URL(u).hostname.replace(/^\[(.*)\]$/, '$1'));
    } catch {
      // an invalid URL is reported by config validation
    }
  }
  return [...hosts];
}
