import type { Executor } from '../db/database.ts';
import { exactTimestampSql, type TimeCursor } from '../http/pagination.ts';
import type { Catalog } from '../../connectors/sdk/types.ts';
import type { StreamMapping } from './mapping.ts';
import type { CatalogDiff } from './catalog-diff.ts';

export interface ConnectionSettings {
  /** share of a stream a full sync may delete before the guard refuses (0..1) */
  mass_delete_threshold?: number;
  allow_mass_delete?: boolean;
}

export interface ConnectionRow {
  id: string;
  tenant_id: string;
  name: string;
  type: string;
  status: 'active' | 'paused';
  config: Record<string, unknown>;
  streams: StreamMapping[];
  settings: ConnectionSettings;
  last_test: Record<string, unknown> | null;
  cursor_at?: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface CatalogRow {
  id: number;
  tenant_id: string;
  connection_id: string;
  version: number;
  catalog: Catalog;
  diff: CatalogDiff;
  discovered_at: Date;
}

const json = (v: unknown) => JSON.stringify(v);

export const connectionsRepository = {
  async insert(db: Executor, row: Omit<ConnectionRow, 'created_at' | 'updated_at' | 'last_test' | 'streams'>): Promise<ConnectionRow> {
    const [r] = await db('connections').insert({ ...row, config: json(row.config), settings: json(row.settings) }).returning('*');
    return r;
  },
  async find(db: Executor, tenantId: string, id: string): Promise<ConnectionRow | undefined> {
    return db('connections').where({ tenant_id: tenantId, id }).first();
  },
  async findByName(db: Executor, tenantId: string, name: string): Promise<ConnectionRow | undefined> {
    return db('connections').where({ tenant_id: tenantId, name }).first();
  },
  async list(db: Executor, opts: { tenantId: string; type?: string; types?: string[]; status?: string; after?: TimeCursor; limit: number }): Promise<Array<ConnectionRow & { cursor_at: string }>> {
    const q = db('connections').select('*', db.raw(`${exactTimestampSql('created_at')} as cursor_at`)).where('tenant_id', opts.tenantId).orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(opts.limit);
    if (opts.type) q.where('type', opts.type);
    if (opts.types) q.whereIn('type', opts.types);
    if (opts.status) q.where('status', opts.status);
    if (opts.after) {
      const { at, id } = opts.after;
      q.where((w) => w.where('created_at', '>', at).orWhere((w2) => w2.where('created_at', at).andWhere('id', '>', id)));
    }
    return q;
  },
  async update(db: Executor, tenantId: string, id: string, patch: Partial<Pick<ConnectionRow, 'name' | 'status' | 'config' | 'settings' | 'streams' | 'last_test'>>): Promise<ConnectionRow | undefined> {
    const values: Record<string, unknown> = { updated_at: db.raw('now()') };
    for (const [k, v] of Object.entries(patch)) values[k] = typeof v === 'object' && v !== null ? json(v) : v;
    const [r] = await db('connections').where({ tenant_id: tenantId, id }).update(values).returning('*');
    return r;
  },
  async delete(db: Executor, tenantId: string, id: string): Promise<boolean> {
    return (await db('connections').where({ tenant_id: tenantId, id }).delete()) === 1;
  },
  async latestCatalogs(db: Executor, tenantId: string, connectionId: string, n: number): Promise<CatalogRow[]> {
    return db('connection_catalogs').where({ tenant_id: tenantId, connection_id: connectionId }).orderBy('version', 'desc').limit(n);
  },
  async insertCatalog(db: Executor, row: Omit<CatalogRow, 'id' | 'discovered_at'>): Promise<CatalogRow> {
    const [r] = await db('connection_catalogs').insert({ ...row, catalog: json(row.catalog), diff: json(row.diff) }).returning('*');
    return r;
  },
  /** keeps the newest `keep` catalog versions */
  async pruneCatalogs(db: Executor, tenantId: string, connectionId: string, keep: number): Promise<void> {
    await db('connection_catalogs')
      .where({ tenant_id: tenantId, connection_id: connectionId })
      .whereNotIn('id', db('connection_catalogs').select('id').where({ tenant_id: tenantId, connection_id: connectionId }).orderBy('version', 'desc').limit(keep))
      .delete();
  },
};
