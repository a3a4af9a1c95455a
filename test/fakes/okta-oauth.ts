/**
 * The org authorization server of the fake Okta (`/oauth2/v1/authorize`, `/oauth2/v1/token`):
 * service apps (client credentials with a private_key_jwt client assertion, verified with jose),
 * web apps (authorization code with PKCE S256, a client secret, a client assertion or none), and
 * refresh tokens (optionally rotated). Access tokens are opaque strings the API checks for expiry,
 * revocation and scopes.
 */
import crypto from 'node:crypto';
import { importJWK, jwtVerify, type JWK } from 'jose';

export type ClientAuthMethod = 'private_key_jwt' | 'client_secret_basic' | 'client_secret_post' | 'none';

export interface FakeOktaClient {
  clientId: string;
  tokenEndpointAuth: ClientAuthMethod;
  publicJwk?: JWK;
  clientSecret?: string;
  redirectUris?: string[];
  /** scopes this client may be granted */
  scopes: string[];
}

export interface IssuedToken {
  clientId: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  challenge?: string;
  expiresAt: number;
  used: boolean;
}

export interface TokenCall {
  at: number;
  grantType: string;
  clientId?: string;
  status: number;
  error?: string;
  /** for refresh grants: the refresh token presented was the current one */
  refreshToken?: string;
}

export interface OAuthReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const random = (prefix: string) => `${prefix}${crypto.randomBytes(24).toString('base64url')}`;
const oauthError = (status: number, error: string, description: string): OAuthReply => ({ status, body: { error, error_description: description } });

export class FakeOktaAuthorizationServer {
  readonly clients = new Map<string, FakeOktaClient>();
  readonly accessTokens = new Map<string, IssuedToken>();
  readonly refreshTokens = new Map<string, { clientId: string; scopes: string[]; revoked: boolean }>();
  readonly tokenCalls: TokenCall[] = [];
  private readonly codes = new Map<string, AuthCode>();
  private readonly usedJtis = new Set<string>();
  /** what the "user" answers on the consent page: approve, or an error sent back to the client */
  authorizeOutcome: 'approve' | { error: string; error_description?: string } = 'approve';
  accessTokenTtlSeconds = 3600;
  rotateRefreshTokens = false;
  /** next token requests answer this error (then the list shrinks) */
  readonly failNextTokenRequests: OAuthReply[] = [];

  constructor(private readonly issuer: () => string) {}

  register(client: FakeOktaClient): void {
    this.clients.set(client.clientId, client);
  }

  /** every access token answers 401 from now on (as after a revocation or a signing key rollover) */
  revokeAccessTokens(): void {
    for (const t of this.accessTokens.values()) t.revoked = true;
  }

  issueAccessToken(clientId: string, scopes: string[], ttlSeconds = this.accessTokenTtlSeconds): string {
    const token = random('okta-at-');
    this.accessTokens.set(token, { clientId, scopes, expiresAt: Date.now() + ttlSeconds * 1000, revoked: false });
    return token;
  }

  authorize(query: URLSearchParams): OAuthReply {
    const client = this.clients.get(query.get('client_id') ?? '');
    const redirectUri = query.get('redirect_uri') ?? '';
    // like Okta: a bad client or redirect URI is shown to the user, never redirected to
    if (!client || !client.redirectUris?.includes(redirectUri)) {
      return { status: 400, headers: { 'content-type': 'text/html' }, body: '<html><body>The redirect_uri parameter must be a Login redirect URI in the client app settings</body></html>' };
    }
    const back = new URL(redirectUri);
    const state = query.get('state');
    if (state) back.searchParams.set('state', state);
    const fail = (error: string, description: string): OAuthReply => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', description);
      return { status: 302, headers: { location: back.toString() } };
    };
    if (query.get('response_type') !== 'code') return fail('unsupported_response_type', 'The response type is not supported by the authorization server.');
    const scopes = (query.get('scope') ?? '').split(' ').filter(Boolean);
    const unknown = scopes.filter((s) => s !== 'offline_access' && !client.scopes.includes(s));
    if (unknown.length) return fail('invalid_scope', `One or more scopes are not configured for the authorization server resource: ${unknown.join(' ')}`);
    const challenge = query.get('code_challenge') ?? undefined;
    if (challenge && query.get('code_challenge_method') !== 'S256') return fail('invalid_request', "PKCE code challenge method must be 'S256'.");
    if (!challenge && client.tokenEndpointAuth === 'none') return fail('invalid_request', 'PKCE code challenge is required when the token endpoint authentication method is NONE.');
    if (this.authorizeOutcome !== 'approve') return fail(this.authorizeOutcome.error, this.authorizeOutcome.error_description ?? '');
    const code = random('code-');
    this.codes.set(code, { clientId: client.clientId, redirectUri, scopes, challenge, expiresAt: Date.now() + 60_000, used: false });
    back.searchParams.set('code', code);
    return { status: 302, headers: { location: back.toString() } };
  }

  private async authenticateClient(form: URLSearchParams, authorization: string | undefined): Promise<FakeOktaClient | OAuthReply> {
    const invalid = oauthError(401, 'invalid_client', 'Client authentication failed. Either the client or the client credentials are invalid.');
    let clientId = form.get('client_id') ?? undefined;
    let method: ClientAuthMethod = 'none';
    let secret: string | undefined;
    if (authorization?.startsWith('Basic ')) {
      const [id, pw] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent((id ?? '').replace(/\+/g, ' '));
      secret = decodeURIComponent((pw ?? '').replace(/\+/g, ' '));
      method = 'client_secret_basic';
    }
    if (form.has('client_secret')) {
      if (method !== 'none') return oauthError(400, 'invalid_request', 'Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.');
      method = 'client_secret_post';
      secret = form.get('client_secret')!;
    }
    const assertion = form.get('client_assertion');
    if (assertion) {
      if (method !== 'none') return oauthError(400, 'invalid_request', 'Cannot supply multiple client credentials.');
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) return oauthError(400, 'invalid_request', 'The client_assertion_type is invalid.');
      method = 'private_key_jwt';
    }
    const client = this.clients.get(clientId ?? '');
    if (!client || client.tokenEndpointAuth !== method) return invalid;
    if (method === 'client_secret_basic' || method === 'client_secret_post') {
      const a = Buffer.from(secret ?? '');
      const b = Buffer.from(client.clientSecret ?? '');
      if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return invalid;
    }
    if (method === 'private_key_jwt') {
      try {
        const key = await importJWK(client.publicJwk!, client.publicJwk!.alg ?? 'RS256');
        const { payload } = await jwtVerify(assertion!, key, { issuer: client.clientId, subject: client.clientId, audience: `${this.issuer()}/oauth2/v1/token`, maxTokenAge: '1h' });
        if (!payload.jti || this.usedJtis.has(payload.jti)) return oauthError(401, 'invalid_client', 'The client_assertion token has already been used (jti).');
        if (!payload.exp) return oauthError(401, 'invalid_client', 'The client_assertion token has no expiration.');
        this.usedJtis.add(payload.jti);
      } catch (err) {
        return oauthError(401, 'invalid_client', `The client_assertion signature or claims are invalid (${(err as Error).name}).`);
      }
    }
    return client;
  }

  async token(form: URLSearchParams, authorization: string | undefined): Promise<OAuthReply> {
    const grantType = form.get('grant_type') ?? '';
    const call: TokenCall = { at: Date.now(), grantType, status: 200 };
    this.tokenCalls.push(call);
    const done = (r: OAuthReply): OAuthReply => {
      call.status = r.status;
      const body = r.body as { error?: string } | undefined;
      if (body?.error) call.error = body.error;
      return { ...r, headers: { 'cache-control': 'no-store', pragma: 'no-cache', ...r.headers } };
    };
    const injected = this.failNextTokenRequests.shift();
    if (injected) return done(injected);
    const client = await this.authenticateClient(form, authorization);
    if (!('clientId' in client)) return done(client);
    call.clientId = client.clientId;
    const issue = (scopes: string[], withRefresh: boolean, refreshToken?: string) => {
      const accessToken = this.issueAccessToken(client.clientId, scopes);
      let refresh = refreshToken;
      if (withRefresh && (!refresh || this.rotateRefreshTokens)) {
        if (refresh) this.refreshTokens.get(refresh)!.revoked = true;
        refresh = random('okta-rt-');
        this.refreshTokens.set(refresh, { clientId: client.clientId, scopes, revoked: false });
      }
      const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: this.accessTokenTtlSeconds, access_token: accessToken, scope: scopes.join(' ') };
      if (withRefresh && (refresh !== refreshToken || !refreshToken)) body.refresh_token = refresh;
      return done({ status: 200, body });
    };
    switch (grantType) {
      case 'client_credentials': {
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (scopes.length === 0) return done(oauthError(400, 'invalid_scope', 'The authorization server resource does not have any configured default scopes, \'scope\' must be provided.'));
        const denied = scopes.filter((s) => !client.scopes.includes(s));
        if (denied.length) return done(oauthError(400, 'invalid_scope', `The following scopes are not allowed: ${denied.join(' ')}`));
        return issue(scopes, false);
      }
      case 'authorization_code': {
        const code = this.codes.get(form.get('code') ?? '');
        if (!code || code.used || code.expiresAt < Date.now() || code.clientId !== client.clientId) return done(oauthError(400, 'invalid_grant', 'The authorization code is invalid or has expired.'));
        code.used = true;
        if (form.get('redirect_uri') !== code.redirectUri) return done(oauthError(400, 'invalid_grant', "The 'redirect_uri' does not match the redirection URI used in the authorization request."));
        if (code.challenge) {
          const verifier = form.get('code_verifier') ?? '';
          if (crypto.createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return done(oauthError(400, 'invalid_grant', 'PKCE verification failed.'));
        }
        return issue(code.scopes.filter((s) => s !== 'offline_access'), code.scopes.includes('offline_access'));
      }
      case 'refresh_token': {
        const presented = form.get('refresh_token') ?? '';
        const rt = this.refreshTokens.get(presented);
        call.refreshToken = presented;
        if (!rt || rt.revoked || rt.clientId !== client.clientId) return done(oauthError(400, 'invalid_grant', 'The refresh token is invalid or expired.'));
        return issue(rt.scopes, true, presented);
      }
      default:
        return done(oauthError(400, 'unsupported_grant_type', `The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials, authorization_code, refresh_token].`));
    }
  }
}
