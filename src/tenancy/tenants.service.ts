/**
 * Tenants: created, listed and disabled by platform admins. The `default` tenant exists from the
 * first migration. A disabled tenant's keys and tokens stop working; its data stays.
 */
import type { Database } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { PLATFORM_CHAIN } from '../audit/audit.service.ts';
import { PipError } from '../errors.ts';
import { decodeCursor, toPage } from '../http/pagination.ts';
import type { RequestContext } from '../auth/principal.ts';
import { tenantsRepository, type TenantRow } from './tenants.repository.ts';

export const TENANT_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

export interface TenantView {
  id: string;
  name: string;
  status: 'active' | 'disabled';
  created_at: string;
  updated_at: string;
}

export const toTenantView = (t: TenantRow): TenantView => ({
  id: t.id,
  name: t.name,
  status: t.status,
  created_at: new Date(t.created_at).toISOString(),
  updated_at: new Date(t.updated_at).toISOString(),
});

const CACHE_MS = 5_000;

export class TenantsService {
  private readonly cache = new Map<string, { row: TenantRow | undefined; at: number }>();
  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  /** tenant lookup for authentication, cached for a few seconds */
  async getCached(id: string): Promise<TenantRow | undefined> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.row;
    const row = await this.db.withTenant(id, (trx) => tenantsRepository.find(trx, id));
    this.cache.set(id, { row, at: Date.now() });
    return row;
  }

  async get(id: string): Promise<TenantView> {
    const row = await this.db.withTenant(id, (trx) => tenantsRepository.find(trx, id));
    if (!row) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${id} not found`);
    return toTenantView(row);
  }

  async create(ctx: RequestContext, input: { id: string; name: string }): Promise<TenantView> {
    const row = await this.db.withSystem(async (trx) => {
      const r = await tenantsRepository.insert(trx, input);
      if (!r) throw new PipError('PIP_TENANT_EXISTS', 409, `tenant ${input.id} already exists`);
      await this.audit.record(trx, { tenantId: PLATFORM_CHAIN, actor: ctx.actor, action: 'tenant.create', targetType: 'tenant', targetId: input.id, outcome: 'success', requestId: ctx.requestId, details: { name: input.name } });
      return r;
    });
    this.cache.delete(input.id);
    return toTenantView(row);
  }

  async list(q: { limit?: number; cursor?: string; status?: string }) {
    const limit = q.limit ?? 50;
    const after = decodeCursor<{ id: string }>(q.cursor, (v) => typeof v?.id === 'string');
    const rows = await this.db.withSystem((trx) => tenantsRepository.list(trx, { afterId: after?.id, limit: limit + 1, status: q.status }));
    return toPage(rows, limit, toTenantView, (r) => ({ id: r.id }));
  }

  async update(ctx: RequestContext, id: string, patch: { name?: string; status?: 'active' | 'disabled' }): Promise<TenantView> {
    if (id === 'default' && patch.status === 'disabled') throw new PipError('PIP_CONFLICT', 409, 'the default tenant cannot be disabled');
    const row = await this.db.withSystem(async (trx) => {
      const r = await tenantsRepository.update(trx, id, patch);
      if (!r) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${id} not found`);
      await this.audit.record(trx, { tenantId: PLATFORM_CHAIN, actor: ctx.actor, action: 'tenant.update', targetType: 'tenant', targetId: id, outcome: 'success', requestId: ctx.requestId, details: patch });
      return r;
    });
    this.cache.delete(id);
    return toTenantView(row);
  }

  /** revokes every data token issued to the tenant so far */
  async bumpTokenVersion(ctx: RequestContext, id: string): Promise<number> {
    const v = await this.db.withTenant(id, async (trx) => {
      const version = await tenantsRepository.bumpTokenVersion(trx, id);
      if (version === undefined) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${id} not found`);
      await this.audit.record(trx, { tenantId: id, actor: ctx.actor, action: 'tenant.revoke_data_tokens', targetType: 'tenant', targetId: id, outcome: 'success', requestId: ctx.requestId, details: { token_version: version } });
      return version;
    });
    this.cache.delete(id);
    return v;
  }
}
