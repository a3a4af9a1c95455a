/**
 * The worker side: runs queued sync attempts, retries transient failures with exponential
 * backoff and jitter, and every tick (in each worker process, safely concurrent) enqueues due
 * schedules, takes over jobs whose worker died (lease expired), re-sends orphaned jobs and
 * applies log retention.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { AppConfig } from '../config.ts';
import { isSourceError, SourceError } from '../../connectors/sdk/errors.ts';
import { syncJobsRepository, type JobError, type SyncJobRow } from './sync-jobs.repository.ts';
import { syncStateRepository } from './sync-state.repository.ts';
import { schedulesRepository } from './schedules.repository.ts';
import { nextRuns } from './cron.ts';
import type { SyncRunner } from './sync-runner.ts';
import type { SyncService } from './sync.service.ts';
import type { SyncQueue, SyncJobPayload } from './queue.ts';
import type { SyncMetrics } from './sync.metrics.ts';

const SHUTDOWN = Symbol('shutdown');

export function backoffSeconds(attempt: number, baseSeconds: number, random = Math.random): number {
  const exp = baseSeconds * 2 ** Math.max(0, attempt - 1);
  const jitter = 0.8 + random() * 0.4;
  return Math.min(600, exp * jitter);
}

export class SyncWorker {
  readonly workerId = `${os.hostname()}:${process.pid}`;
  private readonly running = new Map<string, AbortController>();
  private timer?: NodeJS.Timeout;
  private lastRetention = 0;
  private ticking = false;
  /** more periodic work other domains hang on the tick (provider subscription renewals); errors are logged */
  readonly tickTasks: Array<{ name: string; run: () => Promise<void> }> = [];

  constructor(
    private readonly db: Database,
    private readonly queue: SyncQueue,
    private readonly runner: SyncRunner,
    private readonly service: SyncService,
    private readonly config: AppConfig['sync'],
    private readonly metrics: SyncMetrics,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.queue.work(this.config.concurrency, (p, qid) => this.handle(p, qid));
    const tick = async () => {
      if (this.ticking) return;
      this.ticking = true;
      try {
        await this.tick();
      } catch (err) {
        this.log.error({ err }, 'scheduler tick failed');
      } finally {
        this.ticking = false;
      }
    };
    this.timer = setInterval(() => void tick(), this.config.schedulerTickSeconds * 1000);
    void tick();
  }

  /** stops taking work; running attempts are aborted and re-queued without counting an attempt */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.running.values()) c.abort(SHUTDOWN);
    await this.queue.stop();
  }

  private async finish(job: SyncJobRow, patch: Partial<SyncJobRow>): Promise<void> {
    await this.db.withTenant(job.tenant_id, async (trx) => {
      await syncJobsRepository.update(trx, job.id, patch, { status: 'running' });
      if (patch.status === 'failed') await syncStateRepository.saveRun(trx, job.connection_id, { success: false, last_status: 'failed' });
    });
  }

  async handle(payload: SyncJobPayload, queueJobId: string): Promise<void> {
    const { syncJobId, tenantId } = payload;
    // claim: exactly one carrier (the queue job recorded on the row) moves queued → running
    const claim = await this.db.withTenant(tenantId, async (trx) => {
      const job = await syncJobsRepository.find(trx, tenantId, syncJobId);
      if (!job || job.status !== 'queued' || job.queue_job_id !== queueJobId) return { kind: 'skip' as const };
      if (job.cancel_requested) {
        await syncJobsRepository.update(trx, job.id, { status: 'cancelled', finished_at: new Date() }, { status: 'queued' });
        return { kind: 'skip' as const };
      }
      await syncStateRepository.ensure(trx, tenantId, job.connection_id);
      if (!(await syncStateRepository.claimLease(trx, job.connection_id, job.id, this.config.leaseSeconds))) return { kind: 'busy' as const, job };
      const started = await syncJobsRepository.update(
        trx,
        job.id,
        { status: 'running', attempts: job.attempts + 1, started_at: new Date(), heartbeat_at: new Date(), worker: this.workerId, next_attempt_at: null },
        { status: 'queued' },
      );
      return started ? { kind: 'run' as const, job: started } : { kind: 'skip' as const };
    });
    if (claim.kind === 'skip') return;
    if (claim.kind === 'busy') {
      // another job of this connection is running: try again shortly
      await this.service.enqueue(claim.job, Math.max(1, Math.min(10, this.config.leaseSeconds / 3)));
      return;
    }
    const job = claim.job;
    const log = this.log.child({ jobId: job.id, connectionId: job.connection_id, tenantId });
    const controller = new AbortController();
    this.running.set(job.id, controller);
    const t0 = performance.now();
    try {
      const result = await this.runner.run(job, controller.signal);
      const seconds = (performance.now() - t0) / 1000;
      this.metrics.runs.inc({ status: 'succeeded', error_kind: '' });
      this.metrics.duration.observe({ status: 'succeeded' }, seconds);
      for (const outcome of ['read', 'upserted', 'deleted', 'unchanged'] as const) this.metrics.records.inc({ outcome }, result.counters[outcome]);
      log.info({ ...result.counters, revision: result.revision, changed: result.changed, seconds }, 'sync finished');
    } catch (err) {
      await this.onFailure(job, err, controller.signal, performance.now() - t0, log);
    } finally {
      this.running.delete(job.id);
      await this.db.withTenant(tenantId, (trx) => syncStateRepository.releaseLease(trx, job.connection_id, job.id)).catch(() => undefined);
    }
  }

  private async onFailure(job: SyncJobRow, err: unknown, signal: AbortSignal, ms: number, log: Logger): Promise<void> {
    const e: SourceError = isSourceError(err) ? err : new SourceError('sync', 'unexpected failure (see the service log)', { kind: 'protocol', cause: err });
    if (!isSourceError(err)) log.error({ err }, 'sync failed unexpectedly');
    const error: JobError = { code: e.code, kind: e.kind, message: e.message, hint: e.hint, retryable: e.retryable };
    this.metrics.duration.observe({ status: 'failed' }, ms / 1000);
    if (signal.reason === SHUTDOWN) {
      // not the job's fault: back to the queue, this attempt does not count
      await this.db.withTenant(job.tenant_id, (trx) => syncJobsRepository.update(trx, job.id, { status: 'queued', attempts: job.attempts - 1, error: null }, { status: 'running' }));
      await this.service.enqueue(job, 1).catch(() => undefined);
      return;
    }
    if (e.kind === 'cancelled') {
      const fresh = await this.db.withTenant(job.tenant_id, (trx) => syncJobsRepository.find(trx, job.tenant_id, job.id));
      if (fresh?.cancel_requested) {
        this.metrics.runs.inc({ status: 'cancelled', error_kind: 'cancelled' });
        await this.finish(job, { status: 'cancelled', finished_at: new Date(), error });
        log.info('sync cancelled; nothing applied');
      } else {
        log.warn({ reason: e.message }, 'sync attempt abandoned (lease lost)');
      }
      return;
    }
    this.metrics.runs.inc({ status: 'failed', error_kind: e.kind });
    if (e.retryable && job.attempts < this.config.maxAttempts) {
      const delay = backoffSeconds(job.attempts, this.config.retryBaseSeconds);
      log.warn({ err: error, attempt: job.attempts, retryInSeconds: Math.round(delay) }, 'sync attempt failed; will retry');
      const requeued = await this.db.withTenant(job.tenant_id, (trx) => syncJobsRepository.update(trx, job.id, { status: 'queued', error }, { status: 'running' }));
      if (requeued) await this.service.enqueue(job, delay);
      return;
    }
    log.warn({ err: error, attempts: job.attempts }, 'sync failed');
    await this.finish(job, { status: 'failed', finished_at: new Date(), error });
  }

  /** one scheduler tick: due schedules, dead workers' jobs, orphaned jobs, retention */
  async tick(): Promise<void> {
    const due = await this.db.withSystem((trx) => schedulesRepository.due(trx, 100));
    for (const s of due) {
      const next = nextRuns(s.cron, s.timezone, new Date(), 1)[0]!;
      const won = await this.db.withSystem((trx) => schedulesRepository.advance(trx, s.connection_id, s.next_run_at, next));
      if (!won) continue;
      try {
        await this.service.createJob({ tenantId: s.tenant_id, connectionId: s.connection_id, trigger: 'schedule', mode: 'auto', options: {}, actor: 'system:scheduler' });
      } catch (err) {
        this.log.warn({ connectionId: s.connection_id, err: (err as Error).message }, 'scheduled sync not started');
      }
    }

    const stale = await this.db.withSystem((trx) => syncJobsRepository.stale(trx, this.config.leaseSeconds));
    for (const j of stale) {
      if (this.running.has(j.id)) continue;
      const error: JobError = { code: 'PIP_SYNC_WORKER_LOST', kind: 'transient', message: `worker ${j.worker ?? '?'} stopped heartbeating during attempt ${j.attempts}`, retryable: true };
      const exhausted = j.attempts >= this.config.maxAttempts;
      const updated = await this.db.withTenant(j.tenant_id, async (trx) => {
        const r = await syncJobsRepository.update(trx, j.id, exhausted ? { status: 'failed', error, finished_at: new Date() } : { status: 'queued', error }, { status: 'running' });
        return r;
      });
      if (!updated) continue;
      this.log.warn({ jobId: j.id, connectionId: j.connection_id, worker: j.worker }, exhausted ? 'sync failed: worker lost on the last attempt' : 'taking over a sync whose worker died');
      if (!exhausted) await this.service.enqueue(j, 0);
    }

    const orphans = await this.db.withSystem((trx) => syncJobsRepository.orphaned(trx, 300));
    for (const j of orphans) await this.service.enqueue(j, 0);

    if (Date.now() - this.lastRetention > 3600_000) {
      this.lastRetention = Date.now();
      await this.db.withSystem(async (trx) => {
        await syncJobsRepository.pruneLogs(trx, this.config.logRetentionDays);
        await syncJobsRepository.pruneJobs(trx, this.config.logRetentionDays);
      });
    }

    for (const task of this.tickTasks) {
      try {
        await task.run();
      } catch (err) {
        this.log.warn({ err, task: task.name }, 'tick task failed');
      }
    }
  }
}
