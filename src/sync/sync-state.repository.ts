/** Per-connection sync state (revision, connector state, lease) and the tenant revision. */
import type { Executor } from '../db/database.ts';
import type { StreamState } from '../../connectors/sdk/types.ts';

export interface SyncStateRow {
  tenant_id: string;
  connection_id: string;
  revision: number;
  stream_state: Record<string, StreamState>;
  stream_revisions: Record<string, number>;
  last_run_at: Date | null;
  last_success_at: Date | null;
  last_status: string | null;
  lease_job_id: string | null;
  lease_until: Date | null;
}

export const syncStateRepository = {
  async ensure(db: Executor, tenantId: string, connectionId: string): Promise<void> {
    await db('sync_state').insert({ tenant_id: tenantId, connection_id: connectionId }).onConflict('connection_id').ignore();
  },
  async get(db: Executor, tenantId: string, connectionId: string): Promise<SyncStateRow | undefined> {
    return db('sync_state').where({ tenant_id: tenantId, connection_id: connectionId }).first();
  },
  /** locks the row for the rest of the transaction (serializes applies per connection) */
  async getForUpdate(db: Executor, tenantId: string, connectionId: string): Promise<SyncStateRow> {
    return db('sync_state').where({ tenant_id: tenantId, connection_id: connectionId }).forUpdate().first();
  },
  /** takes the connection's lease unless another live job holds it */
  async claimLease(db: Executor, connectionId: string, jobId: string, seconds: number): Promise<boolean> {
    const n = await db('sync_state')
      .where({ connection_id: connectionId })
      .andWhere((w) => w.whereNull('lease_job_id').orWhere('lease_until', '<', db.raw('now()')).orWhere('lease_job_id', jobId))
      .update({ lease_job_id: jobId, lease_until: db.raw(`now() + make_interval(secs => ?)`, [seconds]) });
    return n === 1;
  },
  async extendLease(db: Executor, connectionId: string, jobId: string, seconds: number): Promise<boolean> {
    const n = await db('sync_state').where({ connection_id: connectionId, lease_job_id: jobId }).update({ lease_until: db.raw(`now() + make_interval(secs => ?)`, [seconds]) });
    return n === 1;
  },
  async releaseLease(db: Executor, connectionId: string, jobId: string): Promise<void> {
    await db('sync_state').where({ connection_id: connectionId, lease_job_id: jobId }).update({ lease_job_id: null, lease_until: null });
  },
  async saveRun(db: Executor, connectionId: string, patch: Partial<Pick<SyncStateRow, 'revision' | 'stream_state' | 'stream_revisions' | 'last_status'>> & { success: boolean }): Promise<void> {
    const { success, ...rest } = patch;
    const values: Record<string, unknown> = { last_run_at: db.raw('now()') };
    if (success) values.last_success_at = db.raw('now()');
    for (const [k, v] of Object.entries(rest)) values[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
    await db('sync_state').where({ connection_id: connectionId }).update(values);
  },
  async bumpTenantRevision(db: Executor, tenantId: string): Promise<number> {
    const { rows } = await db.raw<{ rows: Array<{ revision: string }> }>(
      `insert into tenant_revisions (tenant_id, revision, updated_at) values (?, 1, now())
       on conflict (tenant_id) do update set revision = tenant_revisions.revision + 1, updated_at = now()
       returning revision`,
      [tenantId],
    );
    return Number(rows[0]!.revision);
  },
};
