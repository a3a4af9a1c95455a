/** Builds the data plane's services (wired into src/container.ts as `services.opal`). */
import type { Logger } from 'pino';
import type { AppConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Cache } from '../cache/cache.ts';
import type { Keyring } from '../secrets/keyring.ts';
import type { ConnectorRegistry } from '../registry/registry.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ApiKeysService } from '../auth/api-keys.service.ts';
import type { TenantsService } from '../tenancy/tenants.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { RevisionEvents } from '../records/revision-events.ts';
import { createOpalMetrics } from './opal.metrics.ts';
import { DocumentsService } from './documents.service.ts';
import { DataTokens } from './data-tokens.ts';
import { DataAccess } from './data-access.ts';
import { OpalPublisher } from './publisher.ts';
import { OpalService } from './opal.service.ts';
import { OpalClientVerifier } from './external-source.ts';

export interface OpalServices {
  documents: DocumentsService;
  tokens: DataTokens;
  access: DataAccess;
  publisher: OpalPublisher;
  service: OpalService;
  verifier: OpalClientVerifier;
}

export function createOpalServices(deps: {
  config: AppConfig;
  db: Database;
  cache: Cache;
  keyring: Keyring;
  registry: ConnectorRegistry;
  metrics: Metrics;
  apiKeys: ApiKeysService;
  tenants: TenantsService;
  audit: AuditService;
  revisions: RevisionEvents;
  logger: Logger;
}): OpalServices {
  const { config } = deps;
  const metrics = createOpalMetrics(deps.metrics.registry);
  const logger = deps.logger.child({ component: 'opal' });
  const documents = new DocumentsService({
    db: deps.db,
    cache: deps.cache,
    opal: config.opal,
    staleAfterSeconds: config.sync.staleAfterSeconds,
    categoryOf: (type) => deps.registry.get(type)?.definition.category,
    metrics,
    logger,
  });
  // a new revision makes older versions unreachable: drop in-process copies at once
  deps.revisions.on((e) => documents.invalidate(e.tenantId));
  const tokens = new DataTokens(deps.keyring, deps.tenants, config.opal.dataTokenTtlSeconds);
  const access = new DataAccess(tokens, deps.apiKeys, deps.tenants);
  const publisher = new OpalPublisher(deps.db, documents, tokens, {
    serverUrl: config.opalServerUrl,
    datasourceToken: config.opalDatasourceToken,
    publicUrl: config.publicUrl,
    dstPrefix: config.opal.dstPrefix,
    windowMs: config.opal.publishWindowMs,
    maxAttempts: config.opal.publishMaxAttempts,
    retryBaseMs: config.opal.publishRetryBaseMs,
    timeoutMs: config.opal.publishTimeoutMs,
    metaRefreshSeconds: config.opal.metaRefreshSeconds,
  }, metrics, logger);
  // revisions are announced in the process that ran the sync: publish from there
  publisher.start(deps.revisions, { watchMeta: config.role !== 'api' });
  const service = new OpalService(deps.db, documents, tokens, publisher, deps.tenants, deps.audit, { publicUrl: config.publicUrl, dstPrefix: config.opal.dstPrefix, opalServerConfigured: publisher.enabled });
  const verifier = new OpalClientVerifier({ publicKey: config.opalAuthPublicKey, jwksUrl: config.opalAuthJwksUrl, audience: config.opal.authAudience, issuer: config.opal.authIssuer, tenantClaim: config.opal.tenantClaim });
  return { documents, tokens, access, publisher, service, verifier };
}
