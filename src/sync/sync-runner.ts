/**
 * One attempt of one sync job. The connector's messages stream into staging in bounded batches
 * while the job heartbeats (extending the connection's lease) and watches for cancellation;
 * only a complete read is applied, in one transaction together with the connector state it
 * reached, so a failed, cancelled or killed attempt leaves the previous revision untouched.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { ConnectionsService, LoadedConnection } from '../connections/connections.service.ts';
import { toConfiguredCatalog, type StreamMapping } from '../connections/mapping.ts';
import type { ConnectorRuntime } from '../registry/runtime.ts';
import { recordsRepository, type StagedRecord } from '../records/records.repository.ts';
import { contentHash, mapRecord, recordKey } from '../records/record-key.ts';
import type { RevisionEvents } from '../records/revision-events.ts';
import { SourceError } from '../../connectors/sdk/errors.ts';
import type { ReadHint, StreamState } from '../../connectors/sdk/types.ts';
import { syncStateRepository } from './sync-state.repository.ts';
import { syncJobsRepository, type JobCounters, type SyncJobRow } from './sync-jobs.repository.ts';

export interface RunnerOptions {
  batchSize: number;
  leaseSeconds: number;
  /** default share of a stream a full sync may delete */
  massDeleteThreshold: number;
  heartbeatMs: number;
}

export class MassDeleteRefused extends SourceError {
  constructor(stream: string, toDelete: number, existing: number, threshold: number) {
    super('sync', `full sync of stream ${stream} would delete ${toDelete} of ${existing} records (${Math.round((toDelete / existing) * 100)}% > ${Math.round(threshold * 100)}%); nothing was changed`, {
      kind: 'config',
      hint: 'If the source really lost these records, trigger the sync with allow_mass_delete: true (or raise mass_delete_threshold in the connection settings).',
      detail: { stream, toDelete, existing },
    });
    this.name = 'MassDeleteRefused';
  }
  override get code(): string {
    return 'PIP_SYNC_MASS_DELETE_REFUSED';
  }
}

export interface RunResult {
  counters: JobCounters;
  revision: number;
  changed: boolean;
}

export class SyncRunner {
  constructor(
    private readonly db: Database,
    private readonly connections: ConnectionsService,
    private readonly runtime: ConnectorRuntime,
    private readonly revisions: RevisionEvents,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
  ) {}

  async run(job: SyncJobRow, signal: AbortSignal): Promise<RunResult> {
    const tenantId = job.tenant_id;
    const connectionId = job.connection_id;
    const runId = job.id;
    const loaded: LoadedConnection = await this.connections.load(tenantId, connectionId, { actor: 'system:sync', purpose: 'sync' });
    const mapping = loaded.row.streams;
    if (mapping.length === 0) throw new SourceError('sync', 'no streams are mapped: PUT /pip/connections/{id}/streams first', { kind: 'config' });
    const targeted = job.mode === 'targeted';
    const full = job.mode === 'full';
    const bySource = new Map(mapping.map((s) => [s.name, s]));

    const state = await this.db.withTenant(tenantId, async (trx) => {
      await syncStateRepository.ensure(trx, tenantId, connectionId);
      // leftovers of an attempt that died belong to no one now
      await recordsRepository.discardStaging(trx, connectionId);
      return syncStateRepository.get(trx, tenantId, connectionId);
    });
    const streamState: Record<string, StreamState> = full ? {} : { ...(state?.stream_state ?? {}) };
    const catalog = toConfiguredCatalog(
      mapping.map((s) => (full && s.sync_mode === 'incremental' ? { ...s, sync_mode: 'full' as const } : s)),
    );
    const hints: ReadHint[] | undefined = targeted ? (job.options.hints ?? []) : undefined;
    if (targeted) catalog.streams = catalog.streams.filter((s) => hints!.some((h) => h.stream === s.name));

    const counters: JobCounters = { read: 0, upserted: 0, deleted: 0, unchanged: 0, pages: 0, rate_limited_ms: 0 };
    let batch: StagedRecord[] = [];
    const completed = new Set<string>();
    // subsets of streams the connector re-read completely (scope_complete), by target stream
    const scopes: Array<{ stream: string; match: Record<string, unknown> }> = [];
    // streams the connector re-read whole (scope_complete with an empty scope, e.g. a resync after
    // an expired delta token): applied like a completed full stream, under the mass-delete guard
    const wholeStreams = new Set<string>();
    const run = { runId, tenantId, connectionId };
    let lastBeat = Date.now();

    const flush = async () => {
      if (batch.length) {
        const b = batch;
        batch = [];
        await this.db.withTenant(tenantId, (trx) => recordsRepository.stage(trx, run, b));
        counters.pages++;
      }
      if (Date.now() - lastBeat >= this.opts.heartbeatMs) {
        lastBeat = Date.now();
        await this.heartbeat(job, counters);
      }
    };

    // explicit deletes (webhook events) are staged first
    for (const d of job.options.deletes ?? []) {
      const s = bySource.get(d.stream);
      if (!s) continue;
      for (const k of d.keys) {
        const key = recordKey(k, s.primary_key);
        if (key !== undefined) batch.push({ stream: s.target_name, record_key: key, op: 'd', data: null, hash: null });
      }
    }

    const ctx = this.runtime.context(24 * 3600_000, signal);
    try {
      await this.runtime.assertTargetsAllowed(loaded.connector.definition, loaded.config);
      const messages = loaded.connector.definition.read(loaded.config, catalog, { ...ctx, state: streamState, hints, batchSize: this.opts.batchSize, oauthTokens: loaded.oauthTokens });
      for await (const m of messages) {
        if (signal.aborted) throw new SourceError('sync', 'the sync was cancelled', { kind: 'cancelled' });
        switch (m.type) {
          case 'record': {
            const s = bySource.get(m.stream);
            if (!s) break;
            counters.read++;
            const key = recordKey(m.data, s.primary_key);
            if (key === undefined) {
              this.log.warn({ stream: m.stream }, 'record without primary key values skipped');
              break;
            }
            const data = mapRecord(s, m.data);
            batch.push({ stream: s.target_name, record_key: key, op: 'u', data, hash: contentHash(data) });
            if (batch.length >= this.opts.batchSize) await flush();
            break;
          }
          case 'delete': {
            const s = bySource.get(m.stream);
            const key = s && recordKey(m.key, s.primary_key);
            if (s && key !== undefined) batch.push({ stream: s.target_name, record_key: key, op: 'd', data: null, hash: null });
            break;
          }
          case 'state':
            // kept in memory and saved only with the data it describes, at apply
            streamState[m.stream] = m.state;
            break;
          case 'stream_status':
            if (m.status === 'complete') completed.add(m.stream);
            break;
          case 'scope_complete': {
            const s = bySource.get(m.stream);
            if (!s) break;
            if (Object.keys(m.scope).length === 0) {
              wholeStreams.add(m.stream);
              break;
            }
            const match: Record<string, unknown> = {};
            for (const [field, value] of Object.entries(m.scope)) {
              const target = s.fields.find((f) => f.name === field)?.target;
              if (target === undefined) {
                this.log.warn({ stream: m.stream, field }, 'scope_complete names an unmapped field; nothing deleted for it');
                break;
              }
              match[target] = value;
            }
            if (Object.keys(match).length === Object.keys(m.scope).length && scopes.length < 100_000) scopes.push({ stream: s.target_name, match });
            break;
          }
          case 'rate_limited':
            counters.rate_limited_ms = (counters.rate_limited_ms ?? 0) + m.waitMs;
            break;
          case 'log':
            await this.db.withTenant(tenantId, (trx) => syncJobsRepository.log(trx, { tenant_id: tenantId, job_id: job.id, connection_id: connectionId, level: m.level, message: m.message.slice(0, 2000) }));
            break;
        }
      }
      await flush();
    } catch (err) {
      await this.db.withTenant(tenantId, (trx) => recordsRepository.discardStaging(trx, connectionId, runId)).catch(() => undefined);
      if (signal.aborted) throw new SourceError('sync', 'the sync was cancelled', { kind: 'cancelled' });
      throw this.runtime.asSourceError(loaded.row.type, err);
    } finally {
      ctx.dispose();
    }

    // full streams whose read did not complete must not delete anything
    const fullStreams = targeted
      ? []
      : mapping.filter((s) => ((full || s.sync_mode === 'full') && completed.has(s.name)) || wholeStreams.has(s.name)).map((s) => s.target_name);
    return this.apply(job, { fullStreams, scopes, streamState, counters, mapping });
  }

  private async heartbeat(job: SyncJobRow, counters: JobCounters): Promise<void> {
    await this.db.withTenant(job.tenant_id, async (trx) => {
      const alive = await syncStateRepository.extendLease(trx, job.connection_id, job.id, this.opts.leaseSeconds);
      const row = await syncJobsRepository.update(trx, job.id, { heartbeat_at: new Date(), counters }, { status: 'running' });
      if (!alive || !row) throw new SourceError('sync', 'this worker lost the lease on the connection (another worker took over)', { kind: 'cancelled' });
      if (row.cancel_requested) throw new SourceError('sync', 'the sync was cancelled', { kind: 'cancelled' });
    });
  }

  private async apply(job: SyncJobRow, p: { fullStreams: string[]; scopes?: Array<{ stream: string; match: Record<string, unknown> }>; streamState: Record<string, StreamState>; counters: JobCounters; mapping: StreamMapping[] }): Promise<RunResult> {
    const { tenantId, connectionId } = { tenantId: job.tenant_id, connectionId: job.connection_id };
    const result = await this.db.withTenant(tenantId, async (trx) => {
      const current = await syncStateRepository.getForUpdate(trx, tenantId, connectionId);
      if (current.lease_job_id !== job.id) throw new SourceError('sync', 'this worker lost the lease on the connection before applying', { kind: 'cancelled' });
      const fresh = await syncJobsRepository.find(trx, tenantId, job.id);
      if (fresh?.cancel_requested) throw new SourceError('sync', 'the sync was cancelled', { kind: 'cancelled' });

      // the mass-delete guard: refuse before anything is written
      const connection = await this.connections.require(trx, tenantId, connectionId);
      const allow = job.options.allow_mass_delete === true || connection.settings.allow_mass_delete === true;
      const threshold = connection.settings.mass_delete_threshold ?? this.opts.massDeleteThreshold;
      if (!allow && p.fullStreams.length) {
        const preview = await recordsRepository.deletionPreview(trx, { tenantId, connectionId, runId: job.id, streams: p.fullStreams });
        for (const [stream, { existing, toDelete }] of Object.entries(preview)) {
          if (existing > 0 && toDelete / existing > threshold) throw new MassDeleteRefused(stream, toDelete, existing, threshold);
        }
      }

      const revision = Number(current.revision) + 1;
      const changes = await recordsRepository.apply(trx, { tenantId, connectionId, runId: job.id, revision, fullStreams: p.fullStreams, scopes: p.scopes });
      const changedStreams = Object.entries(changes).filter(([, c]) => c.upserted + c.deleted > 0).map(([s]) => s);
      const upserted = Object.values(changes).reduce((n, c) => n + c.upserted, 0);
      const deleted = Object.values(changes).reduce((n, c) => n + c.deleted, 0);
      const counters: JobCounters = { ...p.counters, upserted, deleted, unchanged: Math.max(0, p.counters.read - upserted) };
      const changed = changedStreams.length > 0;
      let tenantRevision = 0;
      const streamRevisions = { ...current.stream_revisions };
      if (changed) {
        for (const s of changedStreams) streamRevisions[s] = revision;
        tenantRevision = await syncStateRepository.bumpTenantRevision(trx, tenantId);
      }
      await syncStateRepository.saveRun(trx, connectionId, {
        success: true,
        last_status: 'succeeded',
        stream_state: p.streamState,
        ...(changed ? { revision, stream_revisions: streamRevisions } : {}),
      });
      await syncJobsRepository.update(trx, job.id, { status: 'succeeded', counters, finished_at: new Date(), heartbeat_at: new Date(), revision: changed ? revision : Number(current.revision), error: null });
      return { counters, revision: changed ? revision : Number(current.revision), changed, changedStreams, tenantRevision };
    });
    if (result.changed) {
      this.revisions.emit({ tenantId, connectionId, revision: result.revision, tenantRevision: result.tenantRevision, changedStreams: result.changedStreams, reason: job.trigger === 'webhook' ? 'webhook' : 'sync' });
    }
    return { counters: result.counters, revision: result.revision, changed: result.changed };
  }
}
