import type { Executor } from '../db/database.ts';

export interface WebhookConnectionRow {
  id: string;
  tenant_id: string;
  type: string;
}

export const webhooksRepository = {
  /** a connection by id alone (system scope: a delivery names no tenant) */
  async findConnection(db: Executor, id: string): Promise<WebhookConnectionRow | undefined> {
    return db('connections').select('id', 'tenant_id', 'type').where({ id }).first();
  },

  /** records events not seen before; returns the ids that were new (dedupe by provider id) */
  async insertNew(db: Executor, p: { tenantId: string; connectionId: string; provider: string; events: Array<{ id: string; type: string }> }): Promise<Set<string>> {
    if (p.events.length === 0) return new Set();
    const unique = new Map(p.events.map((e) => [e.id, e]));
    const { rows } = await db.raw<{ rows: Array<{ event_id: string }> }>(
      `insert into webhook_events (tenant_id, connection_id, provider, event_id, event_type)
       select ?, ?, ?, e.id, e.type from jsonb_to_recordset(?::jsonb) as e(id text, type text)
       on conflict (connection_id, event_id) do nothing
       returning event_id`,
      [p.tenantId, p.connectionId, p.provider, JSON.stringify([...unique.values()].map((e) => ({ id: e.id, type: e.type })))],
    );
    return new Set(rows.map((r) => r.event_id));
  },

  async setJob(db: Executor, connectionId: string, eventIds: string[], jobId: string): Promise<void> {
    await db('webhook_events').where({ connection_id: connectionId }).whereIn('event_id', eventIds).update({ job_id: jobId });
  },

  /** forgets events (their job could not be queued: the provider's retry must not count as a replay) */
  async forget(db: Executor, connectionId: string, eventIds: string[]): Promise<void> {
    await db('webhook_events').where({ connection_id: connectionId }).whereIn('event_id', eventIds).delete();
  },

  async prune(db: Executor, retentionDays: number): Promise<number> {
    return db('webhook_events').where('received_at', '<', db.raw(`now() - make_interval(days => ?)`, [retentionDays])).delete();
  },
};
