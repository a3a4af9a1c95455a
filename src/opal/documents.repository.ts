/**
 * What the document builder reads from the record store (records, sync_state,
 * tenant_revisions) and the connections, inside one tenant-scoped transaction.
 */
import type { Executor } from '../db/database.ts';
import type { StreamMapping } from '../connections/mapping.ts';
import type { ConnectionOpalSettings } from './field-rules.ts';

export interface SourceRow {
  id: string;
  name: string;
  type: string;
  status: string;
  streams: StreamMapping[];
  created_at: Date;
  revision: number | null;
  stream_revisions: Record<string, number> | null;
  last_success_at: Date | null;
  last_status: string | null;
  opal_settings: ConnectionOpalSettings | null;
}

/**
 * The version of a tenant's document: the tenant revision plus fingerprints of everything else
 * it depends on: `config` (connections, mappings, OPAL settings) and `status` (sync outcomes,
 * synced_at, staleness). Cheap: one round trip, no record is read.
 */
export interface Stamp {
  revision: number;
  config: string;
  status: string;
  /** short form of both fingerprints */
  fingerprint: string;
}

export interface TenantOpalSettings {
  user_key?: string;
  group_key?: 'name' | 'id';
}

export const documentsRepository = {
  async stamp(db: Executor, tenantId: string, staleAfterSeconds: number): Promise<Stamp> {
    const { rows } = await db.raw<{ rows: Array<{ revision: string | number; config: string; status: string }> }>(
      `select coalesce((select revision from tenant_revisions where tenant_id = ?), 0) as revision,
              md5(coalesce((select string_agg(c.id::text || '/' || c.updated_at::text || '/' || coalesce(o.updated_at::text, ''), ',' order by c.id)
                 from connections c left join opal_connection_settings o on o.connection_id = c.id
                where c.tenant_id = ?), '') ||
                 coalesce((select updated_at::text from opal_tenant_settings where tenant_id = ?), '')) as config,
              md5(coalesce((select string_agg(
                 s.connection_id::text || '/' || s.revision::text || '/' || coalesce(s.last_status, '') || '/' || coalesce(s.last_success_at::text, '') || '/' ||
                 (s.last_success_at is null or s.last_success_at < now() - make_interval(secs => ?))::text, ',' order by s.connection_id)
                 from sync_state s where s.tenant_id = ?), '')) as status`,
      [tenantId, tenantId, tenantId, staleAfterSeconds, tenantId],
    );
    const r = rows[0]!;
    return { revision: Number(r.revision), config: r.config, status: r.status, fingerprint: `${r.config.slice(0, 8)}${r.status.slice(0, 8)}` };
  },

  async sources(db: Executor, tenantId: string): Promise<SourceRow[]> {
    return db('connections as c')
      .leftJoin('sync_state as s', 's.connection_id', 'c.id')
      .leftJoin('opal_connection_settings as o', 'o.connection_id', 'c.id')
      .where('c.tenant_id', tenantId)
      .orderBy([{ column: 'c.created_at' }, { column: 'c.id' }])
      .select('c.id', 'c.name', 'c.type', 'c.status', 'c.streams', 'c.created_at', 's.revision', 's.stream_revisions', 's.last_success_at', 's.last_status', 'o.settings as opal_settings');
  },

  async source(db: Executor, tenantId: string, connectionId: string): Promise<SourceRow | undefined> {
    return (await this.sources(db, tenantId)).find((s) => s.id === connectionId);
  },

  /** tenants that have connections (system scope) */
  async tenantsWithConnections(db: Executor): Promise<string[]> {
    return (await db('connections').distinct('tenant_id').orderBy('tenant_id')).map((r: { tenant_id: string }) => r.tenant_id);
  },

  /** a page of one stream's records in key order (the primary key index order) */
  async recordsPage(db: Executor, p: { tenantId: string; connectionId: string; stream: string; afterKey?: string; limit: number }): Promise<Array<{ record_key: string; data: Record<string, unknown> }>> {
    const q = db('records').select('record_key', 'data').where({ tenant_id: p.tenantId, connection_id: p.connectionId, stream: p.stream }).orderBy('record_key').limit(p.limit);
    if (p.afterKey !== undefined) q.where('record_key', '>', p.afterKey);
    return q;
  },

  async tenantSettings(db: Executor, tenantId: string): Promise<TenantOpalSettings> {
    const row = await db('opal_tenant_settings').where({ tenant_id: tenantId }).first();
    return (row?.settings as TenantOpalSettings) ?? {};
  },

  async saveTenantSettings(db: Executor, tenantId: string, settings: TenantOpalSettings): Promise<void> {
    await db('opal_tenant_settings')
      .insert({ tenant_id: tenantId, settings: JSON.stringify(settings), updated_at: db.raw('clock_timestamp()') })
      .onConflict('tenant_id')
      .merge(['settings', 'updated_at']);
  },

  async connectionSettings(db: Executor, tenantId: string, connectionId: string): Promise<ConnectionOpalSettings> {
    const row = await db('opal_connection_settings').where({ tenant_id: tenantId, connection_id: connectionId }).first();
    return (row?.settings as ConnectionOpalSettings) ?? {};
  },

  async saveConnectionSettings(db: Executor, tenantId: string, connectionId: string, settings: ConnectionOpalSettings): Promise<void> {
    await db('opal_connection_settings')
      .insert({ tenant_id: tenantId, connection_id: connectionId, settings: JSON.stringify(settings), updated_at: db.raw('clock_timestamp()') })
      .onConflict('connection_id')
      .merge(['settings', 'updated_at']);
  },
};
