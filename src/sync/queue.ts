/**
 * The job queue: pg-boss on the service's own PostgreSQL (embedded included). pg-boss gives a
 * durable queue, atomic claims (SKIP LOCKED) across processes, and delayed jobs. It talks to
 * the database through knex's pool, so on the embedded database every statement shares the one
 * connection safely. Job names and payloads live here, nowhere else.
 */
import crypto from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Knex } from 'knex';

export const SYNC_QUEUE = 'pip-sync';

export interface SyncJobPayload {
  syncJobId: string;
  tenantId: string;
}

export interface QueueOptions {
  /** how often an idle worker polls for jobs (seconds, ≥ 0.5) */
  pollingIntervalSeconds: number;
  /** how long a claimed job may stay active before pg-boss gives up on it (backstop; leases detect dead workers sooner) */
  expireInSeconds: number;
}

function knexExecutor(knex: Knex) {
  return {
    async executeSql(text: string, values: unknown[]) {
      const client = knex.client as { acquireConnection(): Promise<any>; releaseConnection(c: unknown): Promise<void> };
      const conn = await client.acquireConnection();
      try {
        return await conn.query(text, values);
      } finally {
        await client.releaseConnection(conn);
      }
    },
  };
}

export class SyncQueue {
  private readonly boss: PgBoss;
  private started = false;

  constructor(
    knex: Knex,
    private readonly opts: QueueOptions,
    onError: (err: Error) => void,
  ) {
    this.boss = new PgBoss({
      db: knexExecutor(knex),
      schema: 'pgboss',
      supervise: true,
      schedule: false,
      migrate: true,
      maintenanceIntervalSeconds: 60,
    } as PgBoss.ConstructorOptions);
    this.boss.on('error', onError);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    // retries are ours (visible per sync job); pg-boss only carries each attempt
    await this.boss.createQueue(SYNC_QUEUE, { name: SYNC_QUEUE, policy: 'standard', retryLimit: 0, expireInSeconds: this.opts.expireInSeconds });
    this.started = true;
  }

  /** enqueues one attempt of a sync job; returns the queue job id */
  async enqueue(payload: SyncJobPayload, startAfterSeconds = 0, id: string = crypto.randomUUID()): Promise<string> {
    await this.boss.send(SYNC_QUEUE, payload, { id, startAfter: startAfterSeconds > 0 ? startAfterSeconds : undefined, expireInSeconds: this.opts.expireInSeconds });
    return id;
  }

  async cancel(queueJobId: string): Promise<void> {
    await this.boss.cancel(SYNC_QUEUE, queueJobId).catch(() => undefined);
  }

  /** runs `handler` for each job, `concurrency` at a time in this process */
  async work(concurrency: number, handler: (payload: SyncJobPayload, queueJobId: string) => Promise<void>): Promise<void> {
    for (let i = 0; i < concurrency; i++) {
      await this.boss.work<SyncJobPayload>(SYNC_QUEUE, { batchSize: 1, pollingIntervalSeconds: this.opts.pollingIntervalSeconds }, async ([job]) => {
        if (job) await handler(job.data, job.id);
      });
    }
  }

  /** jobs waiting in the queue (health check) */
  async waiting(): Promise<number> {
    return this.boss.getQueueSize(SYNC_QUEUE);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, timeout: 20_000, close: false });
  }
}
