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
  return { audit, secrets, apiKeys, tenants, health, metrics: createMetrics(), logger, registry: deps.registry, runtime, connections, revisions: new RevisionEvents() };
}
