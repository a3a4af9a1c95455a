/**
 * An access token obtained from a token endpoint, as an AuthStrategy: the grant request is the
 * caller's (client credentials, JWT bearer…); caching until shortly before `expires_in`, one
 * request at a time (single flight), replacement after a 401 (the Requester calls `refresh`),
 * response checks and error wording are shared here.
 */
import { SourceError } from '../errors.ts';
import type { AuthContext, AuthStrategy } from './auth.ts';
import { formatErrorSummary, type ErrorSummary } from './errors.ts';
import { describeRequest, type HttpResponse } from './types.ts';

export interface TokenGrantOptions {
  kind: string;
  tokenUrl: string;
  /** builds the grant's form (and headers, e.g. HTTP Basic client authentication) */
  grant(ctx: AuthContext): Promise<{ form: URLSearchParams; headers?: Record<string, string> }>;
  /** reads the provider's error body of a failed token request */
  errorSummary(body: unknown): ErrorSummary | undefined;
  /** secrets of the grant itself (client secret, private key), hidden from messages */
  secrets: string[];
  /** fetch a new token this long before it expires (default: a tenth of its lifetime, at most 60 s) */
  refreshSkewMs?: number;
  /** lifetime assumed when the endpoint gives no expires_in; undefined: use until a 401 */
  defaultLifetimeMs?: number;
  now?: () => number;
}

interface CachedToken {
  accessToken: string;
  /** epoch ms after which the token is not used any more; undefined: until a 401 */
  refreshAt?: number;
}

export function tokenGrantAuth(opts: TokenGrantOptions): AuthStrategy & { readonly tokenRequests: number } {
  const now = opts.now ?? Date.now;
  let cached: CachedToken | undefined;
  let inflight: Promise<CachedToken> | undefined;
  let tokenRequests = 0;
  // recently issued tokens, so a message that echoes one can be scrubbed
  const issued = new Set<string>();

  function failure(source: string, res: HttpResponse<unknown>): SourceError {
    const summary = formatErrorSummary(opts.errorSummary(res.body));
    const kind = res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'transient' : 'auth';
    return new SourceError(source, `${describeRequest('POST', opts.tokenUrl)} answered ${res.status}${summary ? ` ${summary}` : ''} (token request)`, { kind, detail: { status: res.status } });
  }

  async function requestToken(ctx: AuthContext): Promise<CachedToken> {
    const { form, headers } = await opts.grant(ctx);
    tokenRequests += 1;
    const sentAt = now();
    const res = await ctx.send({ method: 'POST', url: opts.tokenUrl, headers: { accept: 'application/json', ...headers }, body: form, responseType: 'json' });
    if (res.status < 200 || res.status >= 300) throw failure(ctx.source, res);
    const body = (res.body ?? {}) as Record<string, unknown>;
    const accessToken = body.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new SourceError(ctx.source, `${describeRequest('POST', opts.tokenUrl)} answered ${res.status} without an access_token`, { kind: 'protocol' });
    }
    const type = typeof body.token_type === 'string' ? body.token_type.toLowerCase() : 'bearer';
    if (type !== 'bearer') throw new SourceError(ctx.source, `the token endpoint issued a ${body.token_type} token; only Bearer tokens are supported`, { kind: 'protocol' });
    if (issued.size >= 10) issued.delete(issued.values().next().value as string);
    issued.add(accessToken);
    const given = Number(body.expires_in) * 1000;
    const lifetimeMs = Number.isFinite(given) && given > 0 ? given : opts.defaultLifetimeMs;
    if (lifetimeMs === undefined) return { accessToken };
    const skew = opts.refreshSkewMs ?? Math.min(60_000, lifetimeMs / 10);
    return { accessToken, refreshAt: sentAt + lifetimeMs - skew };
  }

  function fetchToken(ctx: AuthContext): Promise<CachedToken> {
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

  const fresh = (t: CachedToken | undefined): t is CachedToken => t !== undefined && (t.refreshAt === undefined || now() < t.refreshAt);

  return {
    kind: opts.kind,
    get tokenRequests() {
      return tokenRequests;
    },
    async apply(headers, _url, ctx) {
      const token = fresh(cached) ? cached : await fetchToken(ctx);
      headers.set('authorization', `Bearer ${token.accessToken}`);
    },
    async refresh(ctx) {
      cached = undefined;
      await fetchToken(ctx);
      return true;
    },
    secrets: () => [...opts.secrets, ...issued].filter((s) => s.length > 0),
  };
}
