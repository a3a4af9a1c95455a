import type { Executor } from '../db/database.ts';

export interface ScheduleRow {
  tenant_id: string;
  connection_id: string;
  cron: string;
  timezone: string;
  next_run_at: Date;
  enabled: boolean;
}

export const schedulesRepository = {
  async get(db: Executor, tenantId: string, connectionId: string): Promise<ScheduleRow | undefined> {
    return db('sync_schedules').where({ tenant_id: tenantId, connection_id: connectionId }).first();
  },
  async upsert(db: Executor, row: ScheduleRow): Promise<ScheduleRow> {
    const [r] = await db('sync_schedules').insert(row).onConflict('connection_id').merge(['cron', 'timezone', 'next_run_at', 'enabled', 'updated_at']).returning('*');
    return r;
  },
  async delete(db: Executor, tenantId: string, connectionId: string): Promise<boolean> {
    return (await db('sync_schedules').where({ tenant_id: tenantId, connection_id: connectionId }).delete()) === 1;
  },
  async listForTenant(db: Executor, tenantId: string): Promise<ScheduleRow[]> {
    return db('sync_schedules').where({ tenant_id: tenantId }).orderBy('connection_id');
  },
  async setNext(db: Executor, connectionId: string, next: Date): Promise<void> {
    await db('sync_schedules').where({ connection_id: connectionId }).update({ next_run_at: next, updated_at: db.raw('now()') });
  },
  /** due schedules of every tenant (system scope) */
  async due(db: Executor, limit: number): Promise<ScheduleRow[]> {
    return db('sync_schedules').where('enabled', true).andWhere('next_run_at', '<=', db.raw('now()')).orderBy('next_run_at').limit(limit);
  },
  /** moves next_run_at forward only if no other instance did it first */
  async advance(db: Executor, connectionId: string, expected: Date, next: Date): Promise<boolean> {
    return (await db('sync_schedules').where({ connection_id: connectionId, next_run_at: expected }).update({ next_run_at: next, updated_at: db.raw('now()') })) === 1;
  },
};
