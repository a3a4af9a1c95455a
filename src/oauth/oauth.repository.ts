import type { Executor } from '../db/database.ts';

export interface OAuthStateRow {
  id: string;
  tenant_id: string;
  connection_id: string;
  provider: string;
  state_hash: string;
  verifier_key_version: number | null;
  verifier_iv: Buffer | null;
  verifier_tag: Buffer | null;
  verifier_ciphertext: Buffer | null;
  redirect_uri: string;
  created_by: string;
  request_id: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface OAuthTokenRow {
  tenant_id: string;
  connection_id: string;
  provider: string;
  token_type: string;
  scopes: string[];
  expires_at: Date | null;
  has_refresh_token: boolean;
  version: number;
  authorized_by: string;
  authorized_at: Date;
  refreshed_at: Date | null;
  last_error: { code: string; message: string; at: string } | null;
  refresh_claimed_until: Date | null;
}

export const oauthRepository = {
  async insertState(db: Executor, row: Omit<OAuthStateRow, 'created_at' | 'used_at'>): Promise<void> {
    await db('oauth_states').insert(row);
  },
  /** the state row, locked until the transaction ends (system scope: the callback has no tenant) */
  async findStateForUpdate(db: Executor, stateHash: string): Promise<OAuthStateRow | undefined> {
    return db('oauth_states').where({ state_hash: stateHash }).forUpdate().first();
  },
  async markStateUsed(db: Executor, id: string): Promise<boolean> {
    return (await db('oauth_states').where({ id }).whereNull('used_at').update({ used_at: db.raw('now()') })) === 1;
  },
  /** states past their expiry by more than a day (kept that long to tell "expired" from "unknown") */
  async pruneStates(db: Executor): Promise<number> {
    return db('oauth_states').where('expires_at', '<', db.raw(`now() - interval '1 day'`)).delete();
  },

  async findToken(db: Executor, tenantId: string, connectionId: string): Promise<OAuthTokenRow | undefined> {
    return db('oauth_tokens').where({ tenant_id: tenantId, connection_id: connectionId }).first();
  },
  /** a new grant (authorization): replaces any previous one */
  async upsertToken(db: Executor, row: Pick<OAuthTokenRow, 'tenant_id' | 'connection_id' | 'provider' | 'token_type' | 'scopes' | 'expires_at' | 'has_refresh_token' | 'authorized_by'>): Promise<OAuthTokenRow> {
    const [r] = await db('oauth_tokens')
      .insert({ ...row, scopes: JSON.stringify(row.scopes), version: 1, authorized_at: db.raw('now()'), refreshed_at: null, last_error: null })
      .onConflict('connection_id')
      .merge({
        provider: row.provider,
        token_type: row.token_type,
        scopes: JSON.stringify(row.scopes),
        expires_at: row.expires_at,
        has_refresh_token: row.has_refresh_token,
        authorized_by: row.authorized_by,
        authorized_at: db.raw('now()'),
        refreshed_at: null,
        last_error: null,
        refresh_claimed_until: null,
        version: db.raw('oauth_tokens.version + 1'),
      })
      .returning('*');
    return r;
  },
  /** claims the refresh of `version` for a while; false when another process holds it or the version moved */
  async claimRefresh(db: Executor, connectionId: string, version: number, seconds: number): Promise<boolean> {
    const n = await db('oauth_tokens')
      .where({ connection_id: connectionId, version })
      .andWhere((w) => w.whereNull('refresh_claimed_until').orWhere('refresh_claimed_until', '<', db.raw('now()')))
      .update({ refresh_claimed_until: db.raw(`now() + make_interval(secs => ?)`, [seconds]) });
    return n === 1;
  },
  /** a refresh lands only on the version it started from (another instance may have refreshed) */
  async updateTokenIfVersion(db: Executor, connectionId: string, version: number, patch: { expires_at: Date | null; scopes?: string[]; has_refresh_token: boolean }): Promise<OAuthTokenRow | undefined> {
    const values: Record<string, unknown> = { expires_at: patch.expires_at, has_refresh_token: patch.has_refresh_token, refreshed_at: db.raw('now()'), last_error: null, refresh_claimed_until: null, version: version + 1 };
    if (patch.scopes) values.scopes = JSON.stringify(patch.scopes);
    const [r] = await db('oauth_tokens').where({ connection_id: connectionId, version }).update(values).returning('*');
    return r;
  },
  async setTokenError(db: Executor, connectionId: string, error: { code: string; message: string }): Promise<void> {
    await db('oauth_tokens').where({ connection_id: connectionId }).update({ last_error: JSON.stringify({ ...error, at: new Date().toISOString() }), refresh_claimed_until: null });
  },
};
