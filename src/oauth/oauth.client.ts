/**
 * Token endpoint calls of the service's OAuth flows (RFC 6749 §4.1.3 code exchange with PKCE,
 * §6 refresh) with the client authentication a connector's OAuthSpec
 * asks for: client_secret_basic, client_secret_post, private_key_jwt (RFC 7523, assertion signed
 * by the SDK's `signClientAssertion`) or none (public client + PKCE).
 *
 * Written on fetch rather than simple-oauth2: that library always sends a client secret (Basic
 * header or `client_secret=` in the body), so private_key_jwt and public clients cannot be
 * expressed, and its debug output prints the Basic credentials.
 */
import { signClientAssertion } from '../../connectors/sdk/http/auth.ts';
import type { OAuthClientAuth } from '../../connectors/sdk/types.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  tokenType: string;
  /** seconds from issue; undefined when the provider does not say */
  expiresIn?: number;
  scopes?: string[];
}

/** The token endpoint answered with an OAuth error (RFC 6749 §5.2): safe to show, no secret in it. */
export class OAuthTokenError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(`token endpoint answered ${status} ${error}${description ? `: ${description}` : ''}`);
    this.name = 'OAuthTokenError';
  }
}

/** The token endpoint could not be reached or answered something that is not OAuth. */
export class OAuthTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OAuthTransportError';
  }
}

export interface TokenClient {
  tokenUrl: string;
  clientId: string;
  auth: OAuthClientAuth;
}

/** provider text shown to an admin: one line, printable, bounded */
export function cleanProviderText(v: unknown, max = 300): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (!s) return undefined;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

async function clientAuthentication(client: TokenClient, form: URLSearchParams, headers: Record<string, string>): Promise<void> {
  const auth = client.auth;
  switch (auth.method) {
    case 'client_secret_basic': {
      // RFC 6749 §2.3.1: both parts form-urlencoded before base64
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(auth.clientSecret)}`).toString('base64')}`;
      return;
    }
    case 'client_secret_post':
      form.set('client_id', client.clientId);
      form.set('client_secret', auth.clientSecret);
      return;
    case 'private_key_jwt':
      form.set('client_id', client.clientId);
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', await signClientAssertion('oauth', { clientId: client.clientId, tokenUrl: client.tokenUrl, privateKeyPem: auth.privateKey, keyId: auth.keyId, alg: auth.algorithm }));
      return;
    case 'none':
      form.set('client_id', client.clientId);
      return;
  }
}

export async function tokenRequest(client: TokenClient, params: Record<string, string>, opts: { timeoutMs?: number; fetchImpl?: typeof fetch } = {}): Promise<TokenSet> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
  await clientAuthentication(client, form, headers);
  let res: Response;
  try {
    res = await (opts.fetchImpl ?? fetch)(client.tokenUrl, { method: 'POST', headers, body: form.toString(), redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.name ?? 'failed');
    throw new OAuthTransportError(`the token endpoint ${new URL(client.tokenUrl).host} could not be reached (${why})`, { cause: err });
  }
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    if (body && typeof body.error === 'string') throw new OAuthTokenError(res.status, cleanProviderText(body.error, 80) ?? 'error', cleanProviderText(body.error_description));
    throw new OAuthTransportError(`the token endpoint answered ${res.status} without an OAuth error body`);
  }
  const accessToken = body?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') throw new OAuthTransportError(`the token endpoint answered ${res.status} without an access_token`);
  const tokenType = typeof body!.token_type === 'string' ? body!.token_type : 'Bearer';
  if (tokenType.toLowerCase() !== 'bearer') throw new OAuthTransportError(`the token endpoint issued a ${cleanProviderText(tokenType, 40)} token; only Bearer tokens are supported`);
  const expiresIn = Number(body!.expires_in);
  return {
    accessToken,
    refreshToken: typeof body!.refresh_token === 'string' && body!.refresh_token !== '' ? body!.refresh_token : undefined,
    tokenType: 'Bearer',
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    scopes: typeof body!.scope === 'string' ? body!.scope.split(/\s+/).filter(Boolean) : undefined,
  };
}

export const exchangeCode = (client: TokenClient, p: { code: string; redirectUri: string; codeVerifier?: string }, opts?: { timeoutMs?: number; fetchImpl?: typeof fetch }) =>
  tokenRequest(client, { grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri, ...(p.codeVerifier ? { code_verifier: p.codeVerifier } : {}) }, opts);

export const refreshGrant = (client: TokenClient, refreshToken: string, opts?: { timeoutMs?: number; fetchImpl?: typeof fetch }) =>
  tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken }, opts);

