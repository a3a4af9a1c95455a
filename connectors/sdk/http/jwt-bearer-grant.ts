/**
 * The JWT bearer authorization grant (RFC 7523 §2.1) as an AuthStrategy: a short-lived assertion
 * signed with our private key is exchanged at the token URL for an access token
 * (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`). This is how a Google
 * service account with domain-wide delegation gets tokens: `iss` = the service account's
 * client_email, `sub` = the user to impersonate, `scope` = the scopes, `aud` = the key's token_uri,
 * at most one hour, `kid` = the key id.
 *
 * Tokens are cached until shortly before `expires_in`, fetched one at a time, and replaced after a
 * 401 (the Requester calls `refresh`), like oauth2ClientCredentials.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { SourceError } from '../errors.ts';
import type { AuthStrategy } from './auth.ts';
import { errorSummaries } from './errors.ts';
import { tokenGrantAuth } from './token-grant.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerGrantOptions {
  tokenUrl: string;
  /** `iss`: who signs (a service account's client_email) */
  issuer: string;
  /** `sub`: whom the token acts for (the impersonated admin); omitted when undefined */
  subject?: string;
  scopes: string[];
  /** PKCS#8 PEM (a service account key's `private_key`) */
  privateKeyPem: string;
  keyId?: string;
  /** RS256 unless set */
  alg?: string;
  /** assertion lifetime in seconds (at most 3600) */
  lifetimeSeconds?: number;
  now?: () => number;
}

function loadKey(source: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem.trim());
  } catch {
    throw new SourceError(source, 'the private key of the service account cannot be read (expected the PEM "private_key" of a JSON key)', { kind: 'config' });
  }
}

export function jwtBearerGrant(opts: JwtBearerGrantOptions): AuthStrategy & { readonly tokenRequests: number } {
  const now = opts.now ?? Date.now;

  async function assertion(source: string): Promise<string> {
    const key = loadKey(source, opts.privateKeyPem);
    const iat = Math.floor(now() / 1000);
    const jwt = new SignJWT({ scope: opts.scopes.join(' ') })
      .setProtectedHeader({ alg: opts.alg ?? 'RS256', typ: 'JWT', ...(opts.keyId ? { kid: opts.keyId } : {}) })
      .setIssuer(opts.issuer)
      .setAudience(opts.tokenUrl)
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.min(3600, Math.max(60, opts.lifetimeSeconds ?? 3600)));
    if (opts.subject) jwt.setSubject(opts.subject);
    try {
      return await jwt.sign(key);
    } catch (err) {
      throw new SourceError(source, `cannot sign the JWT assertion (${(err as Error).name})`, { kind: 'config' });
    }
  }

  return tokenGrantAuth({
    kind: 'jwt_bearer',
    tokenUrl: opts.tokenUrl,
    now,
    // Google's tokens live an hour; assume that when expires_in is missing
    defaultLifetimeMs: 3_600_000,
    secrets: [opts.privateKeyPem],
    errorSummary: (body) => errorSummaries.oauth(body) ?? errorSummaries.google(body),
    grant: async (ctx) => ({ form: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: await assertion(ctx.source) }) }),
  });
}
