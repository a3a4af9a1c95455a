import type { Executor } from '../db/database.ts';
import { exactTimestampSql } from '../http/pagination.ts';
import type { Role } from './roles.ts';

export interface ApiKeyRow {
  id: string;
  tenant_id: string | null;
  name: string;
  prefix: string;
  hash: string;
  role: Role;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  /** list() only: created_at with PostgreSQL's microseconds, for cursors (a JS Date keeps milliseconds) */
  cursor_at?: string;
}


export const apiKeysRepository = {
  async insert(db: Executor, row: Omit<ApiKeyRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<ApiKeyRow> {
    const [r] = await db('api_keys').insert(row).returning('*');
    return r;
  },
  async findByPrefix(db: Executor, prefix: string): Promise<ApiKeyRow | undefined> {
    return db('api_keys').where({ prefix }).first();
  },
  async find(db: Executor, id: string): Promise<ApiKeyRow | undefined> {
    return db('api_keys').where({ id }).first();
  },
  async list(db: Executor, opts: { tenantId: string | null; afterCreated?: { at: string; id: string }; limit: number; includeRevoked: boolean }): Promise<ApiKeyRow[]> {
    const q = db<ApiKeyRow>('api_keys').select('*', db.raw(`${exactTimestampSql('created_at')} as cursor_at`)).orderBy([{ column: 'created_at', order: 'asc' }, { column: 'id', order: 'asc' }]).limit(opts.limit);
    if (opts.tenantId === null) q.whereNull('tenant_id');
    else q.where('tenant_id', opts.tenantId);
    if (!opts.includeRevoked) q.whereNull('revoked_at');
    if (opts.afterCreated) {
      const { at, id } = opts.afterCreated;
      q.where((w) => w.where('created_at', '>', at).orWhere((w2) => w2.where('created_at', at).andWhere('id', '>', id)));
    }
    return q;
  },
  async revoke(db: Executor, id: string): Promise<boolean> {
    return (await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: db.raw('now()') })) === 1;
  },
  async touch(db: Executor, id: string): Promise<void> {
    await db('api_keys').where({ id }).update({ last_used_at: db.raw('now()') });
  },
  async countPlatformAdmins(db: Executor): Promise<number> {
    const r = await db('api_keys').whereNull('tenant_id').where({ role: 'admin' }).whereNull('revoked_at').count<{ count: string }[]>('* as count');
    return Number(r[0]!.count);
  },
};
