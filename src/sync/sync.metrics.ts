/** Sync metrics: run durations, records by outcome, failures by class, freshness per connection. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '../db/database.ts';

export interface SyncMetrics {
  runs: Counter<'status' | 'error_kind'>;
  duration: Histogram<'status'>;
  records: Counter<'outcome'>;
}

export function createSyncMetrics(registry: Registry, db: Database): SyncMetrics {
  new Gauge({
    name: 'pip_sync_freshness_seconds',
    help: 'Seconds since the last successful sync, per connection',
    labelNames: ['tenant', 'connection'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db
        .withSystem((trx) => trx('sync_state').select('tenant_id', 'connection_id', 'last_success_at').whereNotNull('last_success_at').limit(10_000))
        .catch(() => [] as Array<{ tenant_id: string; connection_id: string; last_success_at: Date }>);
      for (const r of rows) this.set({ tenant: r.tenant_id, connection: r.connection_id }, (Date.now() - new Date(r.last_success_at).getTime()) / 1000);
    },
  });
  return {
    runs: new Counter({ name: 'pip_sync_runs_total', help: 'Sync attempts by outcome and failure class', labelNames: ['status', 'error_kind'], registers: [registry] }),
    duration: new Histogram({ name: 'pip_sync_run_duration_seconds', help: 'Duration of sync attempts', labelNames: ['status'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers: [registry] }),
    records: new Counter({ name: 'pip_sync_records_total', help: 'Records processed by outcome (read, upserted, deleted, unchanged)', labelNames: ['outcome'], registers: [registry] }),
  };
}
