import crypto from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { PLATFORM_CHAIN } from '../audit/audit.service.ts';
import { PipError } from '../errors.ts';
import { decodeTimeCursor, timeCursorOf, toPage } from '../http/pagination.ts';
import { generateApiKey, hashApiKey, hashesEqual, parseApiKey, prefixForForeignKey } from './api-key-format.ts';
import { apiKeysRepository, type ApiKeyRow } from './api-keys.repository.ts';
import { actorOf, isPlatformAdmin, type Principal, type RequestContext } from './principal.ts';
import type { Role } from './roles.ts';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  tenant_id: string | null;
  created_by: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
export const toApiKeyView = (r: ApiKeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  tenant_id: r.tenant_id,
  created_by: r.created_by,
  created_at: iso(r.created_at)!,
  expires_at: iso(r.expires_at),
  last_used_at: iso(r.last_used_at),
  revoked_at: iso(r.revoked_at),
});

const TOUCH_INTERVAL_MS = 60_000;

export class ApiKeysService {
  private readonly touched = new Map<string, number>();
  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  /** resolves a bearer key to its principal; undefined when unknown, revoked, expired or wrong */
  async authenticate(key: string): Promise<Principal | undefined> {
    const prefix = parseApiKey(key)?.prefix ?? prefixForForeignKey(key);
    const row = await this.db.withSystem((trx) => apiKeysRepository.findByPrefix(trx, prefix));
    if (!row || !hashesEqual(row.hash, hashApiKey(key))) return undefined;
    if (row.revoked_at) return undefined;
    if (row.expires_at && new Date(row.expires_at).getTime() <= Date.now()) return undefined;
    const last = this.touched.get(row.id) ?? 0;
    if (Date.now() - last > TOUCH_INTERVAL_MS) {
      this.touched.set(row.id, Date.now());
      await this.db.withSystem((trx) => apiKeysRepository.touch(trx, row.id));
    }
    return { keyId: row.id, keyName: row.name, prefix: row.prefix, role: row.role, tenantId: row.tenant_id };
  }

  async create(
    ctx: RequestContext,
    input: { name: string; role: Role; platform?: boolean; expires_at?: string },
  ): Promise<{ key: string; view: ApiKeyView }> {
    const platform = input.platform === true;
    if (platform && !isPlatformAdmin(ctx.principal)) throw new PipError('PIP_FORBIDDEN', 403, 'only a platform admin can create platform keys');
    if (platform && input.role !== 'admin') throw new PipError('PIP_BAD_REQUEST', 400, 'platform keys have role admin; set role to "admin" or omit platform');
    const expires = input.expires_at ? new Date(input.expires_at) : null;
    if (expires && expires.getTime() <= Date.now()) throw new PipError('PIP_BAD_REQUEST', 400, 'expires_at must be in the future');
    const { key, prefix } = generateApiKey();
    const tenantId = platform ? null : ctx.tenantId;
    const run = platform ? this.db.withSystem.bind(this.db) : (fn: any) => this.db.withTenant(ctx.tenantId, fn);
    const row = (await run(async (trx: any) => {
      const r = await apiKeysRepository.insert(trx, {
        id: crypto.randomUUID(),
        tenant_id: tenantId,
        name: input.name,
        prefix,
        hash: hashApiKey(key),
        role: input.role,
        created_by: ctx.actor,
        expires_at: expires,
      });
      await this.audit.record(trx, {
        tenantId: tenantId ?? PLATFORM_CHAIN,
        actor: ctx.actor,
        action: 'api_key.create',
        targetType: 'api_key',
        targetId: r.id,
        outcome: 'success',
        requestId: ctx.requestId,
        details: { name: input.name, role: input.role, prefix, platform },
      });
      return r;
    })) as ApiKeyRow;
    return { key, view: toApiKeyView(row) };
  }

  async list(ctx: RequestContext, q: { platform?: boolean; limit?: number; cursor?: string; include_revoked?: boolean }) {
    const limit = q.limit ?? 50;
    const after = decodeTimeCursor(q.cursor);
    if (q.platform && !isPlatformAdmin(ctx.principal)) throw new PipError('PIP_FORBIDDEN', 403, 'only a platform admin can list platform keys');
    const opts = { tenantId: q.platform ? null : ctx.tenantId, limit: limit + 1, includeRevoked: !!q.include_revoked, afterCreated: after };
    const rows = q.platform
      ? await this.db.withSystem((trx) => apiKeysRepository.list(trx, opts))
      : await this.db.withTenant(ctx.tenantId, (trx) => apiKeysRepository.list(trx, opts));
    // the cursor keeps created_at to the microsecond: rounded to milliseconds, the last row of a
    // page would compare greater than itself and come back on the next page
    return toPage(rows, limit, toApiKeyView, timeCursorOf);
  }

  async revoke(ctx: RequestContext, id: string): Promise<void> {
    const platformAdmin = isPlatformAdmin(ctx.principal);
    const found = await this.db.withSystem((trx) => apiKeysRepository.find(trx, id));
    // a key of another tenant is reported as missing, never as forbidden (no existence oracle)
    const visible = found && (found.tenant_id === ctx.tenantId || (found.tenant_id === null && platformAdmin));
    if (!found || !visible) throw new PipError('PIP_API_KEY_NOT_FOUND', 404, `API key ${id} not found`);
    if (found.tenant_id === null && found.role === 'admin') {
      const admins = await this.db.withSystem((trx) => apiKeysRepository.countPlatformAdmins(trx));
      if (admins <= 1 && !found.revoked_at) throw new PipError('PIP_CONFLICT', 409, 'this is the last platform admin key: create another platform admin key before revoking it');
    }
    const run = found.tenant_id === null ? this.db.withSystem.bind(this.db) : (fn: any) => this.db.withTenant(found.tenant_id!, fn);
    await run(async (trx: any) => {
      await apiKeysRepository.revoke(trx, id);
      await this.audit.record(trx, {
        tenantId: found.tenant_id ?? PLATFORM_CHAIN,
        actor: ctx.actor,
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetId: id,
        outcome: 'success',
        requestId: ctx.requestId,
        details: { prefix: found.prefix },
      });
    });
  }

  /**
   * First start: make sure a platform admin key exists. Uses PIP_BOOTSTRAP_ADMIN_KEY when given
   * (idempotent), otherwise generates one and returns it so main.ts can print it once.
   */
  async bootstrap(given?: string): Promise<{ created: boolean; key?: string }> {
    return this.db.withSystem(async (trx) => {
      await trx.raw(`select pg_advisory_xact_lock(hashtextextended('pip:bootstrap', 7))`);
      if (given) {
        const prefix = prefixForForeignKey(given);
        const existing = await apiKeysRepository.findByPrefix(trx, prefix);
        if (existing) return { created: false };
        await this.insertPlatformAdmin(trx, prefix, hashApiKey(given), 'bootstrap (PIP_BOOTSTRAP_ADMIN_KEY)');
        return { created: true };
      }
      if ((await apiKeysRepository.countPlatformAdmins(trx)) > 0) return { created: false };
      const { key, prefix } = generateApiKey();
      await this.insertPlatformAdmin(trx, prefix, hashApiKey(key), 'bootstrap');
      return { created: true, key };
    });
  }

  private async insertPlatformAdmin(trx: any, prefix: string, hash: string, name: string): Promise<void> {
    const id = crypto.randomUUID();
    await apiKeysRepository.insert(trx, { id, tenant_id: null, name, prefix, hash, role: 'admin', created_by: 'system', expires_at: null });
    await this.audit.record(trx, { tenantId: PLATFORM_CHAIN, actor: 'system', action: 'api_key.create', targetType: 'api_key', targetId: id, outcome: 'success', details: { name, role: 'admin', prefix, platform: true } });
  }
}

export { actorOf };
