/**
 * Builds the services from their dependencies, once per process (or per test). Domains reach
 * each other only through what is wired here.
 */
import type { AppConfig } from './config.ts';
import type { Database } from './db/database.ts';
import type { Cache } from './cache/cache.ts';
import type { Keyring } from './secrets/keyring.ts';
import { AuditService } from './audit/audit.service.ts';
import { SecretsService } from './secrets/secrets.service.ts';
import { ApiKeysService } from './auth/api-keys.service.ts';
import { TenantsService } from './tenancy/tenants.service.ts';
import { HealthChecks } from './observability/health.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import pino, { type Logger } from 'pino';
import { loggerOptions } from './observability/logger.ts';
import type { ConnectorRegistry } from './registry/registry.ts';
import { ConnectorRuntime } from './registry/runtime.ts';
import { ConnectionsService } from './connections/connections.service.ts';
import { RevisionEvents } from './records/revision-events.ts';
import { SyncQueue } from './sync/queue.ts';
import { SyncService } from './sync/sync.service.ts';
import { SyncRunner } from './sync/sync-runner.ts';
import { SyncWorker } from './sync/sync-worker.ts';
import { createSyncMetrics } from './sync/sync.metrics.ts';
import { createOpalServices, type OpalServices } from './opal/opal.container.ts';
import { OAuthService } from './oauth/oauth.service.ts';
import { WebhooksService } from './webhooks/webhooks.service.ts';
import { SubscriptionsService } from './subscriptions/subscriptions.service.ts';

export interface CoreDeps {
  config: AppConfig;
  db: Database;
  cache: Cache;
  keyring: Keyring;
  registry: ConnectorRegistry;
  logger?: Logger;
}

export interface Services {
  audit: AuditService;
  secrets: SecretsService;
  apiKeys: ApiKeysService;
  tenants: TenantsService;
  health: HealthChecks;
  metrics: Metrics;
  logger: Logger;
  registry: ConnectorRegistry;
  runtime: ConnectorRuntime;
  connections: ConnectionsService;
  /** new revisions of tenant data, announced after commit */
  revisions: RevisionEvents;
  queue: SyncQueue;
  sync: SyncService;
  syncWorker: SyncWorker;
  /** the OPAL/OPA data plane: documents, data tokens, publisher */
  opal: OpalServices;
  oauth: OAuthService;
  webhooks: WebhooksService;
  /** provider push subscriptions (Graph, Google watch channels), renewed from the worker's tick */
  subscriptions: SubscriptionsService;
}

export function createServices(deps: CoreDeps): Services {
  const audit = new AuditService(deps.db);
  const secrets = new SecretsService(deps.db, deps.keyring, audit);
  const apiKeys = new ApiKeysService(deps.db, audit);
  const tenants = new TenantsService(deps.db, audit);
  const logger = deps.logger ?? pino(loggerOptions(deps.config.logLevel));
  const runtime = new ConnectorRuntime({ network: deps.config.network, logger: logger.child({ component: 'connectors' }) });
  const connections = new ConnectionsService(deps.db, deps.registry, runtime, secrets, audit);
  const health = new HealthChecks();
  health.add({ name: 'database', critical: true, run: async () => {
      await deps.db.ping();
      return { kind: deps.db.kind };
    } });
  health.add({ name: 'cache', critical: false, run: async () => {
      await deps.cache.ping();
      return { kind: deps.cache.kind };
    } });
  const metrics = createMetrics();
  const revisions = new RevisionEvents();
  const queue = new SyncQueue(deps.db.knex, { pollingIntervalSeconds: deps.config.sync.pollSeconds, expireInSeconds: deps.config.sync.jobExpireSeconds }, (err) => logger.error({ err }, 'job queue error'));
  const sync = new SyncService(deps.db, connections, audit, queue, deps.config.sync);
  const runner = new SyncRunner(deps.db, connections, runtime, revisions, {
    batchSize: deps.config.sync.batchSize,
    leaseSeconds: deps.config.sync.leaseSeconds,
    massDeleteThreshold: deps.config.sync.massDeleteThreshold,
    heartbeatMs: Math.max(200, (deps.config.sync.leaseSeconds * 1000) / 3),
  }, logger.child({ component: 'sync' }));
  const syncWorker = new SyncWorker(deps.db, queue, runner, sync, deps.config.sync, createSyncMetrics(metrics.registry, deps.db), logger.child({ component: 'sync-worker' }));
  health.add({ name: 'queue', critical: false, run: async () => ({ waiting: await queue.waiting() }) });
  const opal = createOpalServices({ config: deps.config, db: deps.db, cache: deps.cache, keyring: deps.keyring, registry: deps.registry, metrics, apiKeys, tenants, audit, revisions, logger });
  const oauth = new OAuthService(deps.db, deps.keyring, connections, secrets, audit, runtime, { publicUrl: deps.config.publicUrl });
  connections.useOAuthTokens(oauth.resolveTokens);
  const webhooks = new WebhooksService(deps.db, connections, sync, audit);
  const subscriptions = new SubscriptionsService(deps.db, deps.registry, connections, runtime, { publicUrl: deps.config.publicUrl }, logger.child({ component: 'subscriptions' }));
  syncWorker.tickTasks.push({ name: 'subscriptions', run: () => subscriptions.tick() });
  webhooks.onRenewalRequested((tenantId, connectionId) => subscriptions.requestRenewal(tenantId, connectionId));
  return { audit, secrets, apiKeys, tenants, health, metrics, logger, registry: deps.registry, runtime, connections, revisions, queue, sync, syncWorker, opal, oauth, webhooks, subscriptions };
}
