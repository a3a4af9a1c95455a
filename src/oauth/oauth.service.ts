/**
 * The OAuth service: an admin authorizes a connection in a browser (authorization code + PKCE
 * S256), the service exchanges the code, seals the tokens in the vault (owner type
 * `connection_oauth`) and keeps them fresh for the connector: refreshed before they expire, and
 * once when the provider answers 401 to a token it has not expired yet.
 *
 * State: 32 random bytes sent to the provider; only its sha256 is stored, with an expiry, and it
 * is consumed by the first callback that presents it (reuse → 400). The PKCE verifier is sealed
 * in the state row (bound to it by the AAD), never stored in clear.
 *
 * Refresh across processes is optimistic: a refresh lands only on the token version it started
 * from; the loser of a race reads the winner's token instead of writing its own.
 */
import crypto from 'node:crypto';
import type { Database, Executor } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { SecretsService } from '../secrets/secrets.service.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { open, seal } from '../secrets/vault.ts';
import type { RequestContext } from '../auth/principal.ts';
import type { ConnectionsService, OAuthTokenResolver } from '../connections/connections.service.ts';
import type { RegisteredConnector } from '../registry/registry.ts';
import { scrubMessage, type ConnectorRuntime } from '../registry/runtime.ts';
import { PipError } from '../errors.ts';
import { isSourceError, SourceError } from '../../connectors/sdk/errors.ts';
import type { OAuthSpec, OAuthTokenProvider } from '../../connectors/sdk/types.ts';
import { cleanProviderText, exchangeCode, OAuthTokenError, OAuthTransportError, refreshGrant, type TokenClient, type TokenSet } from './oauth.client.ts';
import { oauthRepository, type OAuthStateRow, type OAuthTokenRow } from './oauth.repository.ts';

export const OAUTH_OWNER = 'connection_oauth';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const stateAad = (id: string) => `oauth_state\u0000${id}`;
const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
/** how long a process may hold the refresh of a connection's token */
const REFRESH_CLAIM_SECONDS = 30;
/** how long a caller waits for another process's refresh */
const REFRESH_WAIT_MS = 45_000;

export interface OAuthOptions {
  /** base URL the provider redirects back to (PIP_PUBLIC_URL) */
  publicUrl: string;
  /** how long an authorization may take between authorize and callback */
  stateTtlSeconds?: number;
  /** refresh an access token when less than this remains */
  refreshSkewSeconds?: number;
  tokenTimeoutMs?: number;
}

export interface OAuthStatusView {
  connection_id: string;
  provider: string;
  status: 'authorized';
  scopes: string[];
  expires_at: string | null;
  refresh_token: boolean;
  authorized_at: string;
  refreshed_at: string | null;
}

export interface CallbackInput {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

function statusView(r: OAuthTokenRow): OAuthStatusView {
  return {
    connection_id: r.connection_id,
    provider: r.provider,
    status: 'authorized',
    scopes: r.scopes,
    expires_at: iso(r.expires_at),
    refresh_token: r.has_refresh_token,
    authorized_at: iso(r.authorized_at)!,
    refreshed_at: iso(r.refreshed_at),
  };
}

type StateCheck = { kind: 'ok'; row: OAuthStateRow } | { kind: 'unknown' } | { kind: 'used' } | { kind: 'expired'; row: OAuthStateRow };

export class OAuthService {
  private readonly stateTtlMs: number;
  readonly refreshSkewMs: number;
  /** refreshes in flight in this process, per connection (concurrent sessions share one) */
  private readonly refreshing = new Map<string, Promise<{ token: string; row: OAuthTokenRow }>>();
  private lastPrune = 0;

  constructor(
    private readonly db: Database,
    private readonly keyring: Keyring,
    private readonly connections: ConnectionsService,
    private readonly secrets: SecretsService,
    private readonly audit: AuditService,
    private readonly runtime: ConnectorRuntime,
    private readonly opts: OAuthOptions,
  ) {
    this.stateTtlMs = (opts.stateTtlSeconds ?? 600) * 1000;
    this.refreshSkewMs = (opts.refreshSkewSeconds ?? 120) * 1000;
  }

  redirectUri(provider: string): string {
    return `${this.opts.publicUrl}/pip/oauth/callback/${encodeURIComponent(provider)}`;
  }

  private oauthSpec(connector: RegisteredConnector): OAuthSpec {
    const spec = connector.definition.spec.oauth;
    if (!spec) throw new PipError('PIP_OAUTH_NOT_SUPPORTED', 400, `connector type ${connector.definition.type} does not support OAuth authorization`);
    return spec;
  }

  /** starts an authorization: the URL the admin's browser must open */
  async authorize(ctx: RequestContext, provider: string, connectionId: string): Promise<{ authorization_url: string; expires_at: string }> {
    const state = crypto.randomBytes(32).toString('base64url');
    const id = crypto.randomUUID();
    const expiresAt = new Date(Date.now() + this.stateTtlMs);
    this.maybePruneStates();
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const row = await this.connections.require(trx, ctx.tenantId, connectionId);
      if (row.type !== provider) throw new PipError('PIP_OAUTH_PROVIDER_MISMATCH', 400, `connection ${connectionId} is of type ${row.type}, not ${provider}: use /pip/oauth/authorize/${row.type}`);
      const connector = this.connections.connector(row.type);
      const spec = this.oauthSpec(connector);
      const config = row.config;
      if (!spec.enabled(config)) throw new PipError('PIP_OAUTH_NOT_CONFIGURED', 409, `connection ${connectionId} is not configured for OAuth authorization: choose the OAuth authorization method in its config first`);
      let pkce: boolean;
      let url: URL;
      let params: Record<string, string>;
      try {
        pkce = spec.pkce?.(config) ?? true;
        url = new URL(spec.authorizeUrl(config));
        params = {
          response_type: 'code',
          client_id: spec.clientId(config),
          redirect_uri: this.redirectUri(provider),
          scope: spec.scopes(config).join(' '),
          state,
          ...spec.authorizeParams?.(config),
        };
      } catch (err) {
        if (isSourceError(err)) throw new PipError('PIP_OAUTH_CONFIG', 400, err.message, { hint: err.hint });
        throw err;
      }
      let sealed: ReturnType<typeof seal> | undefined;
      if (pkce) {
        const verifier = crypto.randomBytes(48).toString('base64url');
        params.code_challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
        params.code_challenge_method = 'S256';
        sealed = seal(this.keyring, verifier, stateAad(id));
      }
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      await oauthRepository.insertState(trx, {
        id,
        tenant_id: ctx.tenantId,
        connection_id: connectionId,
        provider,
        state_hash: sha256(state),
        verifier_key_version: sealed?.keyVersion ?? null,
        verifier_iv: sealed?.iv ?? null,
        verifier_tag: sealed?.tag ?? null,
        verifier_ciphertext: sealed?.ciphertext ?? null,
        redirect_uri: params.redirect_uri!,
        created_by: ctx.actor,
        request_id: ctx.requestId,
        expires_at: expiresAt,
      });
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'oauth.authorize_start', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId: ctx.requestId, details: { provider, pkce, scopes: params.scope!.split(' ').filter(Boolean) } });
      return { authorization_url: url.toString(), expires_at: expiresAt.toISOString() };
    });
  }

  /** consumes the state (once, even when the answer is an error) and tells what it was */
  private async consumeState(provider: string, state: string): Promise<StateCheck> {
    return this.db.withSystem(async (trx) => {
      const row = await oauthRepository.findStateForUpdate(trx, sha256(state));
      if (!row || row.provider !== provider) return { kind: 'unknown' };
      if (row.used_at) return { kind: 'used' };
      await oauthRepository.markStateUsed(trx, row.id);
      if (new Date(row.expires_at).getTime() <= Date.now()) return { kind: 'expired', row };
      return { kind: 'ok', row };
    });
  }

  /** the provider's redirect: checks the state, exchanges the code, seals the tokens */
  async callback(provider: string, input: CallbackInput, requestId: string): Promise<OAuthStatusView> {
    if (!input.state) throw new PipError('PIP_OAUTH_STATE_INVALID', 400, 'the callback has no state parameter: start the authorization again from /pip/oauth/authorize');
    const check = await this.consumeState(provider, input.state);
    if (check.kind === 'unknown') throw new PipError('PIP_OAUTH_STATE_INVALID', 400, 'unknown authorization state: start the authorization again from /pip/oauth/authorize');
    if (check.kind === 'used') throw new PipError('PIP_OAUTH_STATE_USED', 400, 'this authorization state was already used: start the authorization again from /pip/oauth/authorize');
    const st = check.row;
    const base = { tenantId: st.tenant_id, actor: st.created_by, action: 'oauth.authorize', targetType: 'connection', targetId: st.connection_id, connectionId: st.connection_id, requestId };
    if (check.kind === 'expired') {
      await this.audit.recordAlone({ ...base, outcome: 'failure', details: { provider, reason: 'state_expired' } });
      throw new PipError('PIP_OAUTH_STATE_EXPIRED', 400, `the authorization took longer than ${Math.round(this.stateTtlMs / 1000)} s and expired: start it again from /pip/oauth/authorize`);
    }
    if (input.error) {
      const error = cleanProviderText(input.error, 80) ?? 'error';
      const description = cleanProviderText(input.error_description);
      await this.audit.recordAlone({ ...base, outcome: 'failure', details: { provider, provider_error: error, provider_error_description: description ?? null } });
      throw new PipError('PIP_OAUTH_PROVIDER_ERROR', 400, `${provider} refused the authorization: ${error}${description ? ` (${description})` : ''}`, { provider_error: error, provider_error_description: description });
    }
    if (!input.code) throw new PipError('PIP_OAUTH_CODE_MISSING', 400, 'the callback has neither a code nor an error: start the authorization again');

    const loaded = await this.connections.load(st.tenant_id, st.connection_id, { actor: st.created_by, requestId, purpose: 'oauth.exchange' });
    const spec = this.oauthSpec(loaded.connector);
    const verifier = st.verifier_ciphertext
      ? open(this.keyring, { keyVersion: st.verifier_key_version!, iv: st.verifier_iv!, tag: st.verifier_tag!, ciphertext: st.verifier_ciphertext }, stateAad(st.id))
      : undefined;
    let tokens: TokenSet;
    try {
      const client = await this.tokenClient(spec, loaded.config);
      tokens = await exchangeCode(client, { code: input.code, redirectUri: st.redirect_uri, codeVerifier: verifier }, { timeoutMs: this.opts.tokenTimeoutMs });
    } catch (err) {
      const failure = this.describeFailure(err, loaded.secretValues, 'code exchange');
      await this.audit.recordAlone({ ...base, outcome: 'failure', details: { provider, reason: 'exchange_failed', error: failure.code, provider_error: failure.providerError ?? null } });
      throw new PipError(failure.code, failure.status, failure.message, failure.providerError ? { provider_error: failure.providerError } : undefined);
    }
    const scopes = tokens.scopes ?? spec.scopes(loaded.config);
    const row = await this.db.withTenant(st.tenant_id, async (trx) => {
      const ref = (name: string) => ({ tenantId: st.tenant_id, ownerType: OAUTH_OWNER, ownerId: st.connection_id, name });
      await this.secrets.put(trx, ref('access_token'), tokens.accessToken);
      if (tokens.refreshToken) await this.secrets.put(trx, ref('refresh_token'), tokens.refreshToken);
      else await this.secrets.deleteOwner(trx, st.tenant_id, OAUTH_OWNER, st.connection_id, ['access_token']);
      const saved = await oauthRepository.upsertToken(trx, {
        tenant_id: st.tenant_id,
        connection_id: st.connection_id,
        provider,
        token_type: tokens.tokenType,
        scopes,
        expires_at: tokens.expiresIn ? new Date(Date.now() + tokens.expiresIn * 1000) : null,
        has_refresh_token: !!tokens.refreshToken,
        authorized_by: st.created_by,
      });
      await this.audit.record(trx, { ...base, outcome: 'success', details: { provider, scopes, expires_at: iso(saved.expires_at), refresh_token: !!tokens.refreshToken } });
      return saved;
    });
    return statusView(row);
  }

  /** an admin asks for fresh tokens now */
  async refresh(ctx: RequestContext, connectionId: string): Promise<OAuthStatusView> {
    const loaded = await this.connections.load(ctx.tenantId, connectionId, { actor: ctx.actor, requestId: ctx.requestId, purpose: 'oauth.refresh' });
    const session = loaded.oauthTokens;
    if (!(session instanceof OAuthTokenSession)) throw new PipError('PIP_OAUTH_NOT_AUTHORIZED', 409, `connection ${connectionId} has no OAuth authorization: authorize it first from /pip/oauth/authorize/${loaded.row.type}?connection_id=${connectionId}`);
    try {
      await session.refresh({ actor: ctx.actor, requestId: ctx.requestId, reason: 'manual' });
    } catch (err) {
      if (isSourceError(err)) throw new PipError(err.kind === 'auth' ? 'PIP_OAUTH_REFRESH_FAILED' : 'PIP_OAUTH_PROVIDER_UNREACHABLE', err.kind === 'auth' ? 409 : 502, scrubMessage(err.message, loaded.secretValues));
      throw err;
    }
    const row = await this.db.withTenant(ctx.tenantId, (trx) => oauthRepository.findToken(trx, ctx.tenantId, connectionId));
    return statusView(row!);
  }

  /** wired into ConnectionsService.load: an OAuth-authorized connection gets a token session */
  readonly resolveTokens: OAuthTokenResolver = async ({ trx, tenantId, row, connector, config }) => {
    const spec = connector.definition.spec.oauth;
    if (!spec || !spec.enabled(config)) return undefined;
    const token = await oauthRepository.findToken(trx, tenantId, row.id);
    if (!token) return undefined;
    return new OAuthTokenSession(this, { tenantId, connectionId: row.id, connector, spec, config });
  };

  /** the token endpoint and client authentication; the endpoint's host passes the network guard */
  private async tokenClient(spec: OAuthSpec, config: Record<string, unknown>): Promise<TokenClient> {
    const tokenUrl = spec.tokenUrl(config);
    const host = new URL(tokenUrl).hostname.replace(/^\[|\]$/g, '');
    await this.runtime.guard.assertAllowed(host);
    return { tokenUrl, clientId: spec.clientId(config), auth: spec.clientAuth(config) };
  }

  private describeFailure(err: unknown, secrets: string[], what: string): { code: string; status: number; message: string; providerError?: string } {
    if (err instanceof OAuthTokenError) {
      return { code: 'PIP_OAUTH_EXCHANGE_FAILED', status: 400, message: scrubMessage(`the provider refused the ${what}: ${err.error}${err.description ? ` (${err.description})` : ''}`, secrets), providerError: err.error };
    }
    if (isSourceError(err) && (err.kind === 'blocked' || err.kind === 'config')) return { code: 'PIP_OAUTH_CONFIG', status: 400, message: scrubMessage(err.message, secrets) };
    const message = err instanceof Error ? err.message : 'failed';
    return { code: 'PIP_OAUTH_PROVIDER_UNREACHABLE', status: 502, message: scrubMessage(`the ${what} failed: ${message}`, secrets) };
  }

  /**
   * The current access token, refreshed when it expires within the skew, when the caller's token
   * (`rejectedVersion`) was just refused by the provider, or when an admin asks (`manual`).
   * Concurrent callers of one process share one call.
   */
  async currentToken(s: SessionTarget, opts: TokenRequestOptions = {}): Promise<{ token: string; row: OAuthTokenRow }> {
    const key = s.connectionId;
    const running = this.refreshing.get(key);
    if (running) {
      const r = await running;
      if (opts.rejectedVersion === undefined || r.row.version !== opts.rejectedVersion) return r;
    }
    const p = this.loadOrRefresh(s, opts).finally(() => this.refreshing.delete(key));
    this.refreshing.set(key, p);
    return p;
  }

  /**
   * Across processes one refresh at a time: a process claims the refresh on the token version it
   * read (a short lease in `oauth_tokens`); the others wait for the version to move and then use
   * the new token — so a provider that rotates refresh tokens never sees one spent twice.
   */
  private async loadOrRefresh(s: SessionTarget, opts: TokenRequestOptions): Promise<{ token: string; row: OAuthTokenRow }> {
    const source = s.connector.definition.type;
    const actor = opts.actor ?? 'system:oauth';
    const deadline = Date.now() + REFRESH_WAIT_MS;
    let forced = opts.reason === 'manual';
    for (;;) {
      const row = await this.db.withTenant(s.tenantId, (trx) => oauthRepository.findToken(trx, s.tenantId, s.connectionId));
      if (!row) throw new SourceError(source, 'the OAuth authorization of this connection was removed: authorize it again', { kind: 'auth' });
      const expiresAt = row.expires_at ? new Date(row.expires_at).getTime() : undefined;
      const expiring = expiresAt !== undefined && expiresAt - Date.now() < this.refreshSkewMs;
      const rejected = opts.rejectedVersion !== undefined && row.version === opts.rejectedVersion;
      if (!expiring && !rejected && !forced) {
        const tokens = await this.reveal(s, actor, opts.requestId, 'oauth.token');
        if (tokens.access_token) return { token: tokens.access_token, row };
      }
      if (!row.has_refresh_token) {
        throw new SourceError(source, 'the OAuth access token expired or was rejected and the provider issued no refresh token: authorize the connection again', { kind: 'auth' });
      }
      const claimed = await this.db.withTenant(s.tenantId, (trx) => oauthRepository.claimRefresh(trx, s.connectionId, row.version, REFRESH_CLAIM_SECONDS));
      if (!claimed) {
        // another process is refreshing (or just did): wait for the version to move
        if (Date.now() > deadline) throw new SourceError(source, 'another process kept refreshing the OAuth token for too long', { kind: 'transient' });
        await new Promise((r) => setTimeout(r, 100));
        forced = false;
        continue;
      }
      const reason = opts.reason ?? (rejected ? 'rejected' : 'expiring');
      return this.refreshClaimed(s, row, { ...opts, actor, reason });
    }
  }

  private async reveal(s: SessionTarget, actor: string, requestId: string | undefined, purpose: string): Promise<Record<string, string>> {
    return this.db.withTenant(s.tenantId, (trx) => this.secrets.revealAll(trx, s.tenantId, OAUTH_OWNER, s.connectionId, { actor, requestId, purpose, connectionId: s.connectionId }));
  }

  /** the refresh itself, by the process holding the claim on `row.version` */
  private async refreshClaimed(s: SessionTarget, row: OAuthTokenRow, opts: TokenRequestOptions & { actor: string; reason: string }): Promise<{ token: string; row: OAuthTokenRow }> {
    const source = s.connector.definition.type;
    const audit = (trx: Executor, outcome: 'success' | 'failure', details: Record<string, unknown>) =>
      this.audit.record(trx, { tenantId: s.tenantId, actor: opts.actor, action: 'oauth.refresh', targetType: 'connection', targetId: s.connectionId, connectionId: s.connectionId, outcome, requestId: opts.requestId, details: { reason: opts.reason, ...details } });
    const tokensBefore = await this.reveal(s, opts.actor, opts.requestId, 'oauth.refresh');
    const refreshToken = tokensBefore.refresh_token;
    let tokens: TokenSet;
    try {
      if (!refreshToken) throw new OAuthTransportError('the stored refresh token is missing');
      const client = await this.tokenClient(s.spec, s.config);
      tokens = await refreshGrant(client, refreshToken, { timeoutMs: this.opts.tokenTimeoutMs });
    } catch (err) {
      const f = this.describeFailure(err, Object.values(tokensBefore), 'token refresh');
      await this.db.withTenant(s.tenantId, async (trx) => {
        await oauthRepository.setTokenError(trx, s.connectionId, { code: f.providerError ?? f.code, message: f.message });
        await audit(trx, 'failure', { error: f.providerError ?? f.code });
      });
      const kind = err instanceof OAuthTokenError ? (err.status >= 500 ? 'transient' : err.status === 429 ? 'rate_limited' : 'auth') : f.code === 'PIP_OAUTH_CONFIG' ? 'config' : 'unreachable';
      throw new SourceError(source, kind === 'auth' ? `${f.message}: authorize the connection again` : f.message, { kind });
    }
    const saved = await this.db.withTenant(s.tenantId, async (trx) => {
      const updated = await oauthRepository.updateTokenIfVersion(trx, s.connectionId, row.version, {
        expires_at: tokens.expiresIn ? new Date(Date.now() + tokens.expiresIn * 1000) : null,
        scopes: tokens.scopes,
        has_refresh_token: true,
      });
      if (!updated) return undefined;
      const ref = (name: string) => ({ tenantId: s.tenantId, ownerType: OAUTH_OWNER, ownerId: s.connectionId, name });
      await this.secrets.put(trx, ref('access_token'), tokens.accessToken);
      // a rotating provider issues a new refresh token; otherwise the old one stays valid
      if (tokens.refreshToken) await this.secrets.put(trx, ref('refresh_token'), tokens.refreshToken);
      await audit(trx, 'success', { expires_at: iso(updated.expires_at), refresh_token_rotated: !!tokens.refreshToken });
      return updated;
    });
    // a new authorization replaced the grant while we refreshed: the new grant wins
    if (!saved) return this.loadOrRefresh(s, { ...opts, reason: undefined, rejectedVersion: undefined });
    return { token: tokens.accessToken, row: saved };
  }

  /** drops long-expired states, at most hourly, off the request path */
  private maybePruneStates(): void {
    if (Date.now() - this.lastPrune < 3_600_000) return;
    this.lastPrune = Date.now();
    void this.db.withSystem((trx) => oauthRepository.pruneStates(trx)).catch(() => undefined);
  }
}

interface TokenRequestOptions {
  /** the token version the caller used and the provider refused */
  rejectedVersion?: number;
  actor?: string;
  requestId?: string;
  /** why: manual (an admin asked), rejected, expiring */
  reason?: string;
}

interface SessionTarget {
  tenantId: string;
  connectionId: string;
  connector: RegisteredConnector;
  spec: OAuthSpec;
  config: Record<string, unknown>;
}

/** One loaded connection's view of its tokens (one sync run, one check, one refresh). */
export class OAuthTokenSession implements OAuthTokenProvider {
  private token?: string;
  private version?: number;
  private expiresAt?: number;

  constructor(
    private readonly service: OAuthService,
    private readonly target: SessionTarget,
  ) {}

  private remember(r: { token: string; row: OAuthTokenRow }): string {
    this.token = r.token;
    this.version = r.row.version;
    this.expiresAt = r.row.expires_at ? new Date(r.row.expires_at).getTime() : undefined;
    return r.token;
  }

  async get(): Promise<string> {
    if (this.token && (this.expiresAt === undefined || this.expiresAt - Date.now() >= this.service.refreshSkewMs)) return this.token;
    return this.remember(await this.service.currentToken(this.target));
  }

  async refresh(opts: { actor?: string; requestId?: string; reason?: string } = {}): Promise<string> {
    // the token this session used was refused: any newer one will do, else refresh
    return this.remember(await this.service.currentToken(this.target, { rejectedVersion: opts.reason === 'manual' ? undefined : this.version, ...opts }));
  }
}
