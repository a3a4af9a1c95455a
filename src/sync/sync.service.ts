/**
 * Sync jobs as the API sees them: trigger (deduplicated per connection), inspect, list, cancel,
 * per-connection status and history, schedules, scheduler statistics.
 */
import crypto from 'node:crypto';
import type { Database, Executor } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { RequestContext } from '../auth/principal.ts';
import type { ConnectionsService } from '../connections/connections.service.ts';
import type { AppConfig } from '../config.ts';
import { PipError } from '../errors.ts';
import { decodeTimeCursor, timeCursorOf, toPage } from '../http/pagination.ts';
import { syncJobsRepository, type JobMode, type JobOptions, type JobStatus, type JobTrigger, type SyncJobRow } from './sync-jobs.repository.ts';
import { syncStateRepository } from './sync-state.repository.ts';
import { schedulesRepository, type ScheduleRow } from './schedules.repository.ts';
import { nextRuns, validateSchedule } from './cron.ts';
import type { SyncQueue } from './queue.ts';

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function jobView(j: SyncJobRow) {
  const started = j.started_at ? new Date(j.started_at).getTime() : null;
  const finished = j.finished_at ? new Date(j.finished_at).getTime() : null;
  return {
    id: j.id,
    connection_id: j.connection_id,
    trigger: j.trigger,
    mode: j.mode,
    status: j.status,
    attempts: j.attempts,
    cancel_requested: j.cancel_requested,
    counters: { read: 0, upserted: 0, deleted: 0, unchanged: 0, pages: 0, ...j.counters },
    error: j.error,
    revision: j.revision === null ? null : Number(j.revision),
    created_at: iso(j.created_at)!,
    started_at: iso(j.started_at),
    finished_at: iso(j.finished_at),
    next_attempt_at: iso(j.next_attempt_at),
    duration_ms: started && finished ? finished - started : null,
    requested_by: j.requested_by,
  };
}
export type JobView = ReturnType<typeof jobView>;

export class SyncService {
  constructor(
    private readonly db: Database,
    private readonly connections: ConnectionsService,
    private readonly audit: AuditService,
    private readonly queue: SyncQueue,
    private readonly config: AppConfig['sync'],
  ) {}

  /** makes sure the job reaches the queue: its queue job id is recorded before the send */
  async enqueue(job: Pick<SyncJobRow, 'id' | 'tenant_id'>, delaySeconds = 0): Promise<void> {
    const queueJobId = crypto.randomUUID();
    await this.db.withTenant(job.tenant_id, (trx) =>
      syncJobsRepository.update(trx, job.id, { queue_job_id: queueJobId, next_attempt_at: new Date(Date.now() + delaySeconds * 1000) }),
    );
    await this.queue.enqueue({ syncJobId: job.id, tenantId: job.tenant_id }, delaySeconds, queueJobId);
  }

  /** creates a queued job unless an equivalent one is already waiting (then returns that one) */
  async createJob(p: { tenantId: string; connectionId: string; trigger: JobTrigger; mode: JobMode; options: JobOptions; actor: string; requestId?: string }): Promise<{ job: SyncJobRow; deduplicated: boolean }> {
    const created = await this.db.withTenant(p.tenantId, async (trx) => {
      const conn = await this.connections.require(trx, p.tenantId, p.connectionId);
      if (conn.status !== 'active') throw new PipError('PIP_CONNECTION_PAUSED', 409, `connection ${p.connectionId} is paused: set status active to sync it`);
      if (conn.streams.length === 0) throw new PipError('PIP_NOTHING_TO_SYNC', 409, `connection ${p.connectionId} has no mapped streams: discover it and PUT /pip/connections/${p.connectionId}/streams first`);
      await trx.raw(`select pg_advisory_xact_lock(hashtextextended(?, 11))`, [`sync:${p.connectionId}`]);
      if (p.mode !== 'targeted') {
        const waiting = await syncJobsRepository.findQueued(trx, p.connectionId, p.mode);
        if (waiting && !waiting.options.allow_mass_delete === !p.options.allow_mass_delete) return { job: waiting, deduplicated: true };
      }
      const job = await syncJobsRepository.insert(trx, { id: crypto.randomUUID(), tenant_id: p.tenantId, connection_id: p.connectionId, trigger: p.trigger, mode: p.mode, options: p.options, requested_by: p.actor });
      await this.audit.record(trx, { tenantId: p.tenantId, actor: p.actor, action: 'sync.trigger', targetType: 'sync_job', targetId: job.id, connectionId: p.connectionId, outcome: 'success', requestId: p.requestId, details: { trigger: p.trigger, mode: p.mode, allow_mass_delete: !!p.options.allow_mass_delete } });
      return { job, deduplicated: false };
    });
    if (!created.deduplicated) await this.enqueue(created.job);
    return created;
  }

  async trigger(ctx: RequestContext, connectionId: string, body: { full?: boolean; allow_mass_delete?: boolean }) {
    const { job, deduplicated } = await this.createJob({
      tenantId: ctx.tenantId,
      connectionId,
      trigger: 'manual',
      mode: body.full ? 'full' : 'auto',
      options: body.allow_mass_delete ? { allow_mass_delete: true } : {},
      actor: ctx.actor,
      requestId: ctx.requestId,
    });
    return { job_id: job.id, status: job.status, deduplicated };
  }

  async getJob(ctx: RequestContext, id: string) {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const job = await this.requireJob(trx, ctx.tenantId, id);
      const logs = await syncJobsRepository.logs(trx, ctx.tenantId, id, 200);
      return { ...jobView(job), logs: logs.map((l) => ({ at: new Date(l.at).toISOString(), level: l.level, message: l.message })) };
    });
  }

  private async requireJob(trx: Executor, tenantId: string, id: string): Promise<SyncJobRow> {
    const job = /^[0-9a-f-]{36}$/i.test(id) ? await syncJobsRepository.find(trx, tenantId, id) : undefined;
    if (!job) throw new PipError('PIP_SYNC_JOB_NOT_FOUND', 404, `sync job ${id} not found`);
    return job;
  }

  async listJobs(ctx: RequestContext, q: { connection_id?: string; status?: JobStatus; trigger?: JobTrigger; limit?: number; cursor?: string }) {
    const limit = q.limit ?? 50;
    const before = decodeTimeCursor(q.cursor);
    const rows = await this.db.withTenant(ctx.tenantId, (trx) =>
      syncJobsRepository.list(trx, { tenantId: ctx.tenantId, connectionId: q.connection_id, status: q.status, trigger: q.trigger, beforeCreated: before, limit: limit + 1 }),
    );
    return toPage(rows, limit, jobView, timeCursorOf);
  }

  async history(ctx: RequestContext, connectionId: string, q: { limit?: number; cursor?: string; status?: JobStatus }) {
    await this.db.withTenant(ctx.tenantId, (trx) => this.connections.require(trx, ctx.tenantId, connectionId));
    return this.listJobs(ctx, { ...q, connection_id: connectionId });
  }

  /** a queued job is cancelled at once; a running one stops at its next heartbeat, applying nothing */
  async cancel(ctx: RequestContext, id: string) {
    const job = await this.db.withTenant(ctx.tenantId, async (trx) => {
      const j = await this.requireJob(trx, ctx.tenantId, id);
      if (j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled') throw new PipError('PIP_SYNC_JOB_FINISHED', 409, `sync job ${id} already ${j.status}`);
      const updated =
        j.status === 'queued'
          ? await syncJobsRepository.update(trx, id, { status: 'cancelled', cancel_requested: true, finished_at: new Date() }, { status: 'queued' })
          : await syncJobsRepository.update(trx, id, { cancel_requested: true });
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'sync.cancel', targetType: 'sync_job', targetId: id, connectionId: j.connection_id, outcome: 'success', requestId: ctx.requestId, details: { status_before: j.status } });
      return updated ?? (await this.requireJob(trx, ctx.tenantId, id));
    });
    if (job.status === 'cancelled' && job.queue_job_id) await this.queue.cancel(job.queue_job_id);
    return jobView(job);
  }

  async status(ctx: RequestContext, connectionId: string) {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      await this.connections.require(trx, ctx.tenantId, connectionId);
      const state = await syncStateRepository.get(trx, ctx.tenantId, connectionId);
      const [last] = await syncJobsRepository.list(trx, { tenantId: ctx.tenantId, connectionId, limit: 1 });
      const [lastFinished] = (await syncJobsRepository.list(trx, { tenantId: ctx.tenantId, connectionId, limit: 20 })).filter((j) => j.finished_at);
      const schedule = await schedulesRepository.get(trx, ctx.tenantId, connectionId);
      const lastSuccess = state?.last_success_at ? new Date(state.last_success_at) : null;
      const freshness = lastSuccess ? Math.round((Date.now() - lastSuccess.getTime()) / 1000) : null;
      let staleAfter = this.config.staleAfterSeconds;
      if (schedule?.enabled) {
        const [a, b] = nextRuns(schedule.cron, schedule.timezone, new Date(), 2);
        staleAfter = Math.max(60, 2 * Math.round((b!.getTime() - a!.getTime()) / 1000));
      }
      return {
        connection_id: connectionId,
        revision: Number(state?.revision ?? 0),
        last_job: last ? jobView(last) : null,
        last_finished_job: lastFinished ? jobView(lastFinished) : null,
        last_success_at: iso(lastSuccess),
        freshness_seconds: freshness,
        stale: freshness === null || freshness > staleAfter,
        stale_after_seconds: staleAfter,
        schedule: schedule ? scheduleView(schedule) : null,
        next_run_at: schedule?.enabled ? iso(schedule.next_run_at) : null,
      };
    });
  }

  async schedule(ctx: RequestContext, connectionId: string, body: { cron: string; timezone?: string; enabled?: boolean }) {
    const timezone = body.timezone ?? 'UTC';
    const next = validateSchedule(body.cron, timezone, this.config.minIntervalSeconds);
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      await this.connections.require(trx, ctx.tenantId, connectionId);
      const row = await schedulesRepository.upsert(trx, { tenant_id: ctx.tenantId, connection_id: connectionId, cron: body.cron.trim(), timezone, next_run_at: next, enabled: body.enabled ?? true });
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'sync.schedule', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId: ctx.requestId, details: { cron: row.cron, timezone } });
      return scheduleView(row);
    });
  }

  async unschedule(ctx: RequestContext, connectionId: string): Promise<void> {
    await this.db.withTenant(ctx.tenantId, async (trx) => {
      await this.connections.require(trx, ctx.tenantId, connectionId);
      if (!(await schedulesRepository.delete(trx, ctx.tenantId, connectionId))) throw new PipError('PIP_SCHEDULE_NOT_FOUND', 404, `connection ${connectionId} has no schedule`);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'sync.unschedule', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId: ctx.requestId });
    });
  }

  /** recomputes every schedule's next run from now (after downtime or a change of rules) */
  async rescheduleAll(ctx: RequestContext) {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const all = await schedulesRepository.listForTenant(trx, ctx.tenantId);
      for (const s of all) await schedulesRepository.setNext(trx, s.connection_id, nextRuns(s.cron, s.timezone, new Date(), 1)[0]!);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'sync.reschedule_all', targetType: 'tenant', targetId: ctx.tenantId, outcome: 'success', requestId: ctx.requestId, details: { schedules: all.length } });
      return { rescheduled: all.length, schedules: (await schedulesRepository.listForTenant(trx, ctx.tenantId)).map(scheduleView) };
    });
  }

  async stats(ctx: RequestContext, hours = 24) {
    const rows = await this.db.withTenant(ctx.tenantId, (trx) => syncJobsRepository.stats(trx, ctx.tenantId, hours));
    const by: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    let durSum = 0;
    let durN = 0;
    for (const r of rows) {
      by[r.status] = Number(r.n);
      if (r.avg_ms !== null && (r.status === 'succeeded' || r.status === 'failed')) {
        durSum += Number(r.avg_ms) * Number(r.n);
        durN += Number(r.n);
      }
    }
    const finished = by.succeeded! + by.failed!;
    const schedules = await this.db.withTenant(ctx.tenantId, (trx) => schedulesRepository.listForTenant(trx, ctx.tenantId));
    return {
      window_hours: hours,
      jobs_by_status: by,
      success_rate: finished ? by.succeeded! / finished : null,
      average_duration_ms: durN ? Math.round(durSum / durN) : null,
      queue_waiting: await this.queue.waiting().catch(() => null),
      schedules: { total: schedules.length, enabled: schedules.filter((s) => s.enabled).length },
    };
  }
}

export function scheduleView(s: ScheduleRow) {
  return { connection_id: s.connection_id, cron: s.cron, timezone: s.timezone, enabled: s.enabled, next_run_at: new Date(s.next_run_at).toISOString() };
}
