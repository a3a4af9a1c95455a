import type { Executor } from '../db/database.ts';

export interface TenantRow {
  id: string;
  name: string;
  status: 'active' | 'disabled';
  token_version: number;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export const tenantsRepository = {
  async find(db: Executor, id: string): Promise<TenantRow | undefined> {
    return db('tenants').where({ id }).first();
  },
  async insert(db: Executor, row: { id: string; name: string; settings?: Record<string, unknown> }): Promise<TenantRow | undefined> {
    const [r] = await db('tenants')
      .insert({ id: row.id, name: row.name, settings: JSON.stringify(row.settings ?? {}) })
      .onConflict('id')
      .ignore()
      .returning('*');
    return r;
  },
  async list(db: Executor, opts: { afterId?: string; limit: number; status?: string }): Promise<TenantRow[]> {
    const q = db<TenantRow>('tenants').orderBy('id').limit(opts.limit);
    if (opts.afterId) q.where('id', '>', opts.afterId);
    if (opts.status) q.where('status', opts.status);
    return q;
  },
  async update(db: Executor, id: string, patch: Partial<Pick<TenantRow, 'name' | 'status'>>): Promise<TenantRow | undefined> {
    const [r] = await db('tenants').where({ id }).update({ ...patch, updated_at: db.raw('now()') }).returning('*');
    return r;
  },
  async bumpTokenVersion(db: Executor, id: string): Promise<number | undefined> {
    const [r] = await db('tenants').where({ id }).increment('token_version', 1).update({ updated_at: db.raw('now()') }).returning('token_version');
    return r?.token_version;
  },
};
