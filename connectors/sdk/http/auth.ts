/**
 * AuthStrategy: how a request proves who we are. `apply` adds credentials to a request's headers
 * or URL; `refresh` (when the strategy can) gets fresh credentials after a 401 — the Requester
 * calls it once, then retries the request once. `secrets` lists values that must never appear in
 * a message (the Requester scrubs them).
 *
 *   noAuth, apiKeyAuth (header or query), basicAuth, bearerAuth, tokenProviderAuth (tokens the
 *   service's OAuth flow stores), oauth2ClientCredentials (client secret or private_key_jwt,
 *   RFC 7523; the token is cached until shortly before `expires_in` and fetched once at a time).
 *
 * Token endpoints are called through the Requester's transport (`AuthContext.send`): the same
 * network guard, timeout, abort signal and injected fetch as every other call.
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { SourceError } from '../errors.ts';
import { errorSummaries } from './errors.ts';
import { tokenGrantAuth } from './token-grant.ts';
import type { HttpRequest, HttpResponse } from './types.ts';

export interface AuthContext {
  source: string;
  /** sends a request without credentials and without status handling (network errors throw) */
  send(request: HttpRequest): Promise<HttpResponse<unknown>>;
}

export interface AuthStrategy {
  readonly kind: string;
  apply(headers: Headers, url: URL, ctx: AuthContext): Promise<void>;
  refresh?(ctx: AuthContext): Promise<boolean>;
  secrets?(): string[];
}

export const noAuth: AuthStrategy = { kind: 'none', apply: async () => undefined };

export interface ApiKeyAuthOptions {
  in: 'header' | 'query';
  /** header or query parameter name, e.g. `X-API-Key`, `Authorization`, `api_key` */
  name: string;
  value: string;
  /** put before the value, e.g. `SSWS ` (Okta) or `Token ` */
  prefix?: string;
}

export function apiKeyAuth(opts: ApiKeyAuthOptions): AuthStrategy {
  const value = `${opts.prefix ?? ''}${opts.value}`;
  return {
    kind: 'api_key',
    async apply(headers, url) {
      if (opts.in === 'query') url.searchParams.set(opts.name, value);
      else headers.set(opts.name, value);
    },
    secrets: () => [opts.value],
  };
}

export function basicAuth(username: string, password: string): AuthStrategy {
  const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  return {
    kind: 'basic',
    async apply(headers) {
      headers.set('authorization', `Basic ${encoded}`);
    },
    secrets: () => [password, encoded],
  };
}

export function bearerAuth(token: string): AuthStrategy {
  return {
    kind: 'bearer',
    async apply(headers) {
      headers.set('authorization', `Bearer ${token}`);
    },
    secrets: () => [token],
  };
}

/**
 * A token someone else keeps fresh (the service's OAuth auth-code flow): `getToken` is asked for
 * every request, `refreshToken` after a 401 (answer false when it could not refresh).
 */
export function tokenProviderAuth(getToken: () => Promise<string>, refreshToken?: () => Promise<boolean | void>): AuthStrategy {
  const seen = new Set<string>();
  return {
    kind: 'bearer',
    async apply(headers) {
      const token = await getToken();
      if (seen.size > 20) seen.clear();
      seen.add(token);
      headers.set('authorization', `Bearer ${token}`);
    },
    refresh: refreshToken ? async () => (await refreshToken()) !== false : undefined,
    secrets: () => [...seen],
  };
}

export interface PrivateKeyJwtOptions {
  /** PKCS#8 or PKCS#1 PEM, or a private JWK as JSON text */
  privateKeyPem: string;
  keyId?: string;
  /** RS256 (default for RSA keys), ES256 (default for EC P-256), PS256, ES384, EdDSA… */
  alg?: string;
  /** extra protected-header parameters, e.g. Microsoft's `x5t` certificate thumbprint */
  headers?: Record<string, string>;
  /** assertion lifetime in seconds (RFC 7523 wants it short; at most 300) */
  lifetimeSeconds?: number;
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  /** how a client secret is sent: in the form (default) or as HTTP Basic */
  clientSecretMethod?: 'client_secret_post' | 'client_secret_basic';
  privateKeyJwt?: PrivateKeyJwtOptions;
  scope?: string | string[];
  /** Auth0's API identifier */
  audience?: string;
  extraParams?: Record<string, string>;
  /** fetch a new token this long before it expires (default: a tenth of its lifetime, at most 60 s) */
  refreshSkewMs?: number;
  now?: () => number;
}


const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function loadPrivateKey(source: string, pem: string): KeyObject {
  try {
    const text = pem.trim();
    return text.startsWith('{') ? createPrivateKey({ key: JSON.parse(text) as import('node:crypto').JsonWebKey, format: 'jwk' }) : createPrivateKey(text);
  } catch {
    throw new SourceError(source, 'the private key for private_key_jwt cannot be read (expected a PEM private key or a private JWK)', { kind: 'config' });
  }
}

function defaultAlg(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return ({ 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'ES256';
    case 'ed25519':
      return 'EdDSA';
    case 'rsa-pss':
      return 'PS256';
    default:
      return 'RS256';
  }
}

/** An RFC 7523 client assertion: iss = sub = client id, aud = token URL, a fresh jti, short exp. */
export async function signClientAssertion(source: string, opts: { clientId: string; tokenUrl: string } & PrivateKeyJwtOptions): Promise<string> {
  const key = loadPrivateKey(source, opts.privateKeyPem);
  const alg = opts.alg ?? defaultAlg(key);
  const lifetime = Math.min(300, Math.max(30, opts.lifetimeSeconds ?? 300));
  try {
    return await new SignJWT({})
      .setProtectedHeader({ ...opts.headers, alg, typ: 'JWT', ...(opts.keyId ? { kid: opts.keyId } : {}) })
      .setIssuer(opts.clientId)
      .setSubject(opts.clientId)
      .setAudience(opts.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${lifetime}s`)
      .sign(key);
  } catch (err) {
    throw new SourceError(source, `cannot sign the client assertion with ${alg} (${(err as Error).name})`, { kind: 'config' });
  }
}

/** OAuth 2.0 client credentials (RFC 6749 §4.4) with a client secret or private_key_jwt. */
export function oauth2ClientCredentials(opts: ClientCredentialsOptions): AuthStrategy & { readonly tokenRequests: number } {
  return tokenGrantAuth({
    kind: opts.privateKeyJwt ? 'private_key_jwt' : 'client_credentials',
    tokenUrl: opts.tokenUrl,
    refreshSkewMs: opts.refreshSkewMs,
    now: opts.now,
    secrets: [opts.clientSecret ?? '', opts.privateKeyJwt?.privateKeyPem ?? ''],
    errorSummary: (body) => errorSummaries.oauth(body) ?? errorSummaries.auth0(body) ?? errorSummaries.problem(body),
    async grant(ctx) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      const headers: Record<string, string> = {};
      const scope = Array.isArray(opts.scope) ? opts.scope.join(' ') : opts.scope;
      if (scope) form.set('scope', scope);
      if (opts.audience) form.set('audience', opts.audience);
      for (const [k, v] of Object.entries(opts.extraParams ?? {})) form.set(k, v);
      if (opts.privateKeyJwt) {
        form.set('client_id', opts.clientId);
        form.set('client_assertion_type', ASSERTION_TYPE);
        form.set('client_assertion', await signClientAssertion(ctx.source, { clientId: opts.clientId, tokenUrl: opts.tokenUrl, ...opts.privateKeyJwt }));
      } else if (opts.clientSecretMethod === 'client_secret_basic') {
        const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
        headers.authorization = `Basic ${Buffer.from(`${enc(opts.clientId)}:${enc(opts.clientSecret ?? '')}`).toString('base64')}`;
      } else {
        form.set('client_id', opts.clientId);
        if (opts.clientSecret !== undefined) form.set('client_secret', opts.clientSecret);
      }
      return { form, headers };
    },
  });
}
