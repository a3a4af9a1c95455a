import type { Executor } from '../db/database.ts';

export interface AuditRow {
  id: number;
  tenant_id: string;
  seq: number;
  occurred_at: Date;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  connection_id: string | null;
  outcome: string;
  request_id: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  tenantId: string;
  connectionId?: string;
  action?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  /** return rows with id below this (newest first paging) */
  beforeId?: number;
  limit: number;
}

export const auditRepository = {
  /** serializes appends per tenant for the rest of the transaction */
  async lockChain(db: Executor, tenantId: string): Promise<void> {
    await db.raw(`select pg_advisory_xact_lock(hashtextextended(?, 7))`, [`audit:${tenantId}`]);
  },
  async last(db: Executor, tenantId: string): Promise<Pick<AuditRow, 'seq' | 'hash'> | undefined> {
    return db('audit_events').where({ tenant_id: tenantId }).orderBy('seq', 'desc').first('seq', 'hash');
  },
  async insert(db: Executor, row: Omit<AuditRow, 'id'>): Promise<void> {
    await db('audit_events').insert({ ...row, details: JSON.stringify(row.details) });
  },
  async list(db: Executor, f: AuditFilter): Promise<AuditRow[]> {
    const q = db<AuditRow>('audit_events').where({ tenant_id: f.tenantId }).orderBy('id', 'desc').limit(f.limit);
    if (f.connectionId) q.where('connection_id', f.connectionId);
    if (f.action) q.where((w) => w.where('action', f.action!).orWhere('action', 'like', `${f.action!.replace(/[%_\\]/g, '\\$&')}.%`));
    if (f.actor) q.where('actor', f.actor);
    if (f.from) q.where('occurred_at', '>=', f.from);
    if (f.to) q.where('occurred_at', '<=', f.to);
    if (f.beforeId !== undefined) q.where('id', '<', f.beforeId);
    return q;
  },
  /** the chain in order, a page at a time */
  async chainPage(db: Executor, tenantId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return db<AuditRow>('audit_events').where({ tenant_id: tenantId }).andWhere('seq', '>', afterSeq).orderBy('seq').limit(limit);
  },
};
