/**
 * The record store. A sync run writes its records into `sync_staging` in batches (bounded
 * memory), then `apply` makes the whole run visible in one transaction: changed records
 * upserted (unchanged ones untouched thanks to the content hash), records missing from a full
 * read deleted, the connection's revision moved only when something changed.
 */
import type { Executor } from '../db/database.ts';

export interface StagedRecord {
  stream: string;
  record_key: string;
  op: 'u' | 'd';
  data: Record<string, unknown> | null;
  hash: string | null;
}

export interface StreamCounts {
  upserted: number;
  deleted: number;
}

const byStream = (rows: Array<{ stream: string; n: number | string }>) => Object.fromEntries(rows.map((r) => [r.stream, Number(r.n)]));

export const recordsRepository = {
  async stage(db: Executor, run: { runId: string; tenantId: string; connectionId: string }, batch: StagedRecord[]): Promise<void> {
    if (batch.length === 0) return;
    // the last occurrence of a key in a batch wins (ON CONFLICT cannot touch a row twice)
    const unique = new Map<string, StagedRecord>();
    for (const r of batch) unique.set(`${r.stream}\u0000${r.record_key}`, r);
    // one parameter, expanded by the server: far cheaper than thousands of placeholders
    const payload = JSON.stringify([...unique.values()]);
    await db.raw(
      `insert into sync_staging (run_id, tenant_id, connection_id, stream, record_key, op, data, hash)
       select ?, ?, ?, r.stream, r.record_key, r.op, r.data, r.hash
         from jsonb_to_recordset(?::jsonb) as r(stream text, record_key text, op char(1), data jsonb, hash text)
       on conflict (run_id, stream, record_key) do update set op = excluded.op, data = excluded.data, hash = excluded.hash`,
      [run.runId, run.tenantId, run.connectionId, payload],
    );
  },

  async discardStaging(db: Executor, connectionId: string, runId?: string): Promise<void> {
    const q = db('sync_staging').where({ connection_id: connectionId });
    if (runId) q.where({ run_id: runId });
    await q.delete();
  },

  /** per full stream: records now stored, and how many a full apply would delete */
  async deletionPreview(db: Executor, p: { tenantId: string; connectionId: string; runId: string; streams: string[] }): Promise<Record<string, { existing: number; toDelete: number }>> {
    if (p.streams.length === 0) return {};
    const { rows } = await db.raw<{ rows: Array<{ stream: string; existing: string; to_delete: string }> }>(
      `select r.stream,
              count(*) as existing,
              count(*) filter (where not exists (
                select 1 from sync_staging s
                 where s.run_id = ? and s.stream = r.stream and s.record_key = r.record_key and s.op = 'u')) as to_delete
         from records r
        where r.tenant_id = ? and r.connection_id = ? and r.stream = any(?)
        group by r.stream`,
      [p.runId, p.tenantId, p.connectionId, p.streams],
    );
    return Object.fromEntries(rows.map((r) => [r.stream, { existing: Number(r.existing), toDelete: Number(r.to_delete) }]));
  },

  /** applies a staged run at `revision`; returns per-stream counts of what changed */
  async apply(db: Executor, p: { tenantId: string; connectionId: string; runId: string; revision: number; fullStreams: string[]; scopes?: Array<{ stream: string; match: Record<string, unknown> }> }): Promise<Record<string, StreamCounts>> {
    const upserted = await db.raw<{ rows: Array<{ stream: string; n: string }> }>(
      `with up as (
         insert into records (tenant_id, connection_id, stream, record_key, data, hash, revision, updated_at)
         select tenant_id, connection_id, stream, record_key, data, hash, ?, now()
           from sync_staging where run_id = ? and op = 'u'
         on conflict (tenant_id, connection_id, stream, record_key) do update
           set data = excluded.data, hash = excluded.hash, revision = excluded.revision, updated_at = excluded.updated_at
           where records.hash is distinct from excluded.hash
         returning stream)
       select stream, count(*) as n from up group by stream`,
      [p.revision, p.runId],
    );
    const explicitDeletes = await db.raw<{ rows: Array<{ stream: string; n: string }> }>(
      `with del as (
         delete from records r using sync_staging s
          where s.run_id = ? and s.op = 'd' and r.tenant_id = ? and r.connection_id = ?
            and r.stream = s.stream and r.record_key = s.record_key
         returning r.stream)
       select stream, count(*) as n from del group by stream`,
      [p.runId, p.tenantId, p.connectionId],
    );
    let missing = { rows: [] as Array<{ stream: string; n: string }> };
    if (p.fullStreams.length) {
      missing = await db.raw(
        `with del as (
           delete from records r
            where r.tenant_id = ? and r.connection_id = ? and r.stream = any(?)
              and not exists (select 1 from sync_staging s
                               where s.run_id = ? and s.stream = r.stream and s.record_key = r.record_key and s.op = 'u')
           returning r.stream)
         select stream, count(*) as n from del group by stream`,
        [p.tenantId, p.connectionId, p.fullStreams, p.runId],
      );
    }
    // scopes the connector re-read completely: their stored records not in this run are gone
    let outOfScope = { rows: [] as Array<{ stream: string; n: string }> };
    if (p.scopes?.length) {
      outOfScope = await db.raw(
        `with del as (
           delete from records r
            using jsonb_array_elements(?::jsonb) sc
            where r.tenant_id = ? and r.connection_id = ? and r.stream = sc->>'stream' and r.data @> (sc->'match')
              and not exists (select 1 from sync_staging s
                               where s.run_id = ? and s.stream = r.stream and s.record_key = r.record_key and s.op = 'u')
           returning r.stream)
         select stream, count(*) as n from del group by stream`,
        [JSON.stringify(p.scopes), p.tenantId, p.connectionId, p.runId],
      );
    }
    await db('sync_staging').where({ run_id: p.runId }).delete();
    const up = byStream(upserted.rows);
    const del1 = byStream(explicitDeletes.rows);
    const del2 = byStream(missing.rows);
    const del3 = byStream(outOfScope.rows);
    const streams = new Set([...Object.keys(up), ...Object.keys(del1), ...Object.keys(del2), ...Object.keys(del3)]);
    return Object.fromEntries([...streams].map((s) => [s, { upserted: up[s] ?? 0, deleted: (del1[s] ?? 0) + (del2[s] ?? 0) + (del3[s] ?? 0) }]));
  },

  /** records of a connection's stream, a page at a time in key order */
  async page(db: Executor, p: { tenantId: string; connectionId: string; stream: string; afterKey?: string; limit: number }): Promise<Array<{ record_key: string; data: Record<string, unknown>; revision: number }>> {
    const q = db('records').select('record_key', 'data', 'revision').where({ tenant_id: p.tenantId, connection_id: p.connectionId, stream: p.stream }).orderBy('record_key').limit(p.limit);
    if (p.afterKey !== undefined) q.where('record_key', '>', p.afterKey);
    return q;
  },

  async countByStream(db: Executor, tenantId: string, connectionId: string): Promise<Record<string, number>> {
    const rows = await db('records').select('stream').count<{ stream: string; n: string }[]>('* as n').where({ tenant_id: tenantId, connection_id: connectionId }).groupBy('stream');
    return byStream(rows);
  },
};
