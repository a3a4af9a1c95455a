/** DataUpdates sent to OPAL (opal_publications) and the reports OPAL clients sent back (opal_reports). */
import type { Executor } from '../db/database.ts';

export interface PublicationRow {
  id: string;
  tenant_id: string;
  connection_ids: string[];
  reason: string;
  trigger: 'revision' | 'manual' | 'meta' | 'config';
  tenant_revision: number | null;
  entries: Array<{ url: string; dst_path: string; topics: string[] }>;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  http_status: number | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface ReportRow {
  id: number;
  tenant_id: string;
  update_id: string | null;
  entries: Array<{ dst_path?: string; url?: string; fetched: boolean; saved: boolean; hash?: string }>;
  ok: boolean;
  received_at: Date;
}

export const publicationsRepository = {
  async insert(db: Executor, row: Omit<PublicationRow, 'created_at' | 'finished_at' | 'attempts' | 'http_status' | 'error'>): Promise<void> {
    await db('opal_publications').insert({ ...row, entries: JSON.stringify(row.entries) });
  },
  async update(db: Executor, tenantId: string, id: string, patch: Partial<Pick<PublicationRow, 'status' | 'attempts' | 'http_status' | 'error' | 'finished_at'>>): Promise<void> {
    await db('opal_publications').where({ tenant_id: tenantId, id }).update(patch);
  },
  async find(db: Executor, tenantId: string, id: string): Promise<PublicationRow | undefined> {
    return db('opal_publications').where({ tenant_id: tenantId, id }).first();
  },
  async listForConnection(db: Executor, tenantId: string, connectionId: string, limit: number): Promise<PublicationRow[]> {
    return db('opal_publications')
      .where({ tenant_id: tenantId })
      .andWhere((w) => w.whereRaw('? = any(connection_ids)', [connectionId]).orWhereRaw("connection_ids = '{}'"))
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(limit);
  },
  async insertReport(db: Executor, row: Omit<ReportRow, 'id' | 'received_at'>): Promise<void> {
    await db('opal_reports').insert({ ...row, entries: JSON.stringify(row.entries) });
  },
  async reportsFor(db: Executor, tenantId: string, updateIds: string[], limit: number): Promise<ReportRow[]> {
    if (updateIds.length === 0) return [];
    return db('opal_reports').where({ tenant_id: tenantId }).whereIn('update_id', updateIds).orderBy('id', 'desc').limit(limit);
  },
};
