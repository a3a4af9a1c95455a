import type { Executor } from '../db/database.ts';
import { exactTimestampSql, type TimeCursor } from '../http/pagination.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobTrigger = 'manual' | 'schedule' | 'webhook';
export type JobMode = 'auto' | 'full' | 'targeted';

export interface JobCounters {
  read: number;
  upserted: number;
  deleted: number;
  unchanged: number;
  pages: number;
  rate_limited_ms?: number;
}

export interface JobError {
  code: string;
  kind: string;
  message: string;
  hint?: string;
  retryable: boolean;
}

export interface JobOptions {
  allow_mass_delete?: boolean;
  hints?: Array<{ stream: string; keys: Array<Record<string, unknown>> }>;
  deletes?: Array<{ stream: string; keys: Array<Record<string, unknown>> }>;
  reason?: string;
}

export interface SyncJobRow {
  id: string;
  tenant_id: string;
  connection_id: string;
  trigger: JobTrigger;
  mode: JobMode;
  status: JobStatus;
  attempts: number;
  options: JobOptions;
  counters: Partial<JobCounters>;
  error: JobError | null;
  revision: number | null;
  cancel_requested: boolean;
  worker: string | null;
  queue_job_id: string | null;
  requested_by: string | null;
  created_at: Date;
  started_at: Date | null;
  heartbeat_at: Date | null;
  finished_at: Date | null;
  next_attempt_at: Date | null;
}

const json = (v: unknown) => JSON.stringify(v);

export interface JobFilter {
  tenantId: string;
  connectionId?: string;
  status?: JobStatus;
  trigger?: JobTrigger;
  beforeCreated?: TimeCursor;
  limit: number;
}

export const syncJobsRepository = {
  async insert(db: Executor, row: Pick<SyncJobRow, 'id' | 'tenant_id' | 'connection_id' | 'trigger' | 'mode' | 'options' | 'requested_by'>): Promise<SyncJobRow> {
    const [r] = await db('sync_jobs').insert({ ...row, status: 'queued', options: json(row.options) }).returning('*');
    return r;
  },
  async find(db: Executor, tenantId: string, id: string): Promise<SyncJobRow | undefined> {
    return db('sync_jobs').where({ tenant_id: tenantId, id }).first();
  },
  async findQueued(db: Executor, connectionId: string, mode: JobMode): Promise<SyncJobRow | undefined> {
    return db('sync_jobs').where({ connection_id: connectionId, mode, status: 'queued', cancel_requested: false }).orderBy('created_at').first();
  },
  async list(db: Executor, f: JobFilter): Promise<Array<SyncJobRow & { cursor_at: string }>> {
    const q = db('sync_jobs').select('*', db.raw(`${exactTimestampSql('created_at')} as cursor_at`)).where('tenant_id', f.tenantId).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(f.limit);
    if (f.connectionId) q.where('connection_id', f.connectionId);
    if (f.status) q.where('status', f.status);
    if (f.trigger) q.where('trigger', f.trigger);
    if (f.beforeCreated) {
      const { at, id } = f.beforeCreated;
      q.where((w) => w.where('created_at', '<', at).orWhere((w2) => w2.where('created_at', at).andWhere('id', '<', id)));
    }
    return q;
  },
  async update(db: Executor, id: string, patch: Partial<Omit<SyncJobRow, 'id'>>, where: Partial<Pick<SyncJobRow, 'status'>> = {}): Promise<SyncJobRow | undefined> {
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) values[k] = typeof v === 'object' && v !== null && !(v instanceof Date) && !('toSQL' in (v as object)) ? json(v) : v;
    const [r] = await db('sync_jobs').where({ id, ...where }).update(values).returning('*');
    return r;
  },
  async stats(db: Executor, tenantId: string, sinceHours: number) {
    const { rows } = await db.raw<{ rows: Array<{ status: string; n: string; avg_ms: string | null }> }>(
      `select status, count(*) as n,
              avg(extract(epoch from (finished_at - started_at)) * 1000) filter (where finished_at is not null and started_at is not null) as avg_ms
         from sync_jobs where tenant_id = ? and created_at > now() - make_interval(hours => ?)
        group by status`,
      [tenantId, sinceHours],
    );
    return rows;
  },
  /** running jobs whose worker stopped heartbeating (system scope: all tenants) */
  async stale(db: Executor, leaseSeconds: number): Promise<SyncJobRow[]> {
    return db('sync_jobs').where('status', 'running').andWhere('heartbeat_at', '<', db.raw(`now() - make_interval(secs => ?)`, [leaseSeconds])).limit(100);
  },
  /** queued jobs that no queue job carries (an enqueue failed after commit) */
  async orphaned(db: Executor, graceSeconds: number): Promise<SyncJobRow[]> {
    return db('sync_jobs')
      .where('status', 'queued')
      .andWhere((w) => w.whereNull('queue_job_id').orWhere(db.raw('coalesce(next_attempt_at, created_at)'), '<', db.raw(`now() - make_interval(secs => ?)`, [graceSeconds])))
      .andWhere('created_at', '<', db.raw(`now() - make_interval(secs => 30)`))
      .limit(100);
  },
  async log(db: Executor, row: { tenant_id: string; job_id: string; connection_id: string; level: string; message: string }): Promise<void> {
    await db('sync_logs').insert(row);
  },
  async logs(db: Executor, tenantId: string, jobId: string, limit: number): Promise<Array<{ at: Date; level: string; message: string }>> {
    return db('sync_logs').select('at', 'level', 'message').where({ tenant_id: tenantId, job_id: jobId }).orderBy('id').limit(limit);
  },
  async pruneLogs(db: Executor, days: number): Promise<number> {
    return db('sync_logs').where('at', '<', db.raw(`now() - make_interval(days => ?)`, [days])).delete();
  },
  async pruneJobs(db: Executor, days: number): Promise<number> {
    return db('sync_jobs').whereIn('status', ['succeeded', 'failed', 'cancelled']).andWhere('finished_at', '<', db.raw(`now() - make_interval(days => ?)`, [days])).delete();
  },
};
