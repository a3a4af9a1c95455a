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
import type { AuthContext, AuthStrategy } from './auth.ts';
import { errorSummaries, formatErrorSummary } from './errors.ts';
import { describeRequest } from './types.ts';

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
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<{ token: string; refreshAt: number }> | undefined;
  let tokenRequests = 0;
  const issued = new Set<string>();

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

  async function requestToken(ctx: AuthContext): Promise<{ token: string; refreshAt: number }> {
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: await assertion(ctx.source) });
    tokenRequests += 1;
    const sentAt = now();
    const res = await ctx.send({ method: 'POST', url: opts.tokenUrl, headers: { accept: 'application/json' }, body: form, responseType: 'json' });
    if (res.status < 200 || res.status >= 300) {
      const summary = formatErrorSummary(errorSummaries.oauth(res.body) ?? errorSummaries.google(res.body));
      throw new SourceError(ctx.source, `${describeRequest('POST', opts.tokenUrl)} answered ${res.status}${summary ? ` ${summary}` : ''} (token request)`, {
        kind: res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'transient' : 'auth',
        detail: { status: res.status },
      });
    }
    const body = (res.body ?? {}) as Record<string, unknown>;
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new SourceError(ctx.source, `${describeRequest('POST', opts.tokenUrl)} answered ${res.status} without an access_token`, { kind: 'protocol' });
    }
    if (issued.size >= 10) issued.delete(issued.values().next().value as string);
    issued.add(body.access_token);
    const lifetimeMs = Number(body.expires_in) * 1000;
    const life = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? lifetimeMs : 3_600_000;
    return { token: body.access_token, refreshAt: sentAt + life - Math.min(60_000, life / 10) };
  }

  function fetchToken(ctx: AuthContext): Promise<{ token: string; refreshAt: number }> {
    inflight ??= requestToken(ctx).then(
      (t) => {
        cached = t;
        inflight = undefined;
        return t;
      },
      (err: unknown) => {
        inflight = undefined;
        throw err;
      },
    );
    return inflight;
  }

  return {
    kind: 'jwt_bearer',
    get tokenRequests() {
      return tokenRequests;
    },
    async apply(headers, _url, ctx) {
      const t = cached && now() < cached.refreshAt ? cached : await fetchToken(ctx);
      headers.set('authorization', `Bearer ${t.token}`);
    },
    async refresh(ctx) {
      cached = undefined;
      await fetchToken(ctx);
      return true;
    },
    secrets: () => [opts.privateKeyPem, ...issued],
  };
}
