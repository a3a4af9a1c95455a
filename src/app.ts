/**
 * buildApp(deps) assembles the Fastify instance: logging, request ids, errors, OpenAPI, rate
 * limiting, authentication, metrics and every domain's routes. It never listens (main.ts does),
 * so tests drive it with app.inject().
 */
import Fastify, { type FastifyInstance } from 'fastify';
import crypto from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreDeps, Services } from './container.ts';
import { loggerOptions } from './observability/logger.ts';
import { metricsPlugin } from './observability/metrics.ts';
import { healthRoutes } from './observability/health.routes.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { ErrorBody } from './http/schemas.ts';
import { authPlugin } from './auth/auth.plugin.ts';
import { auditPlugin } from './audit/audit.plugin.ts';
import { tenantsRoutes } from './tenancy/tenants.routes.ts';
import { apiKeysRoutes } from './auth/api-keys.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { secretsRoutes } from './secrets/secrets.routes.ts';
import { registryRoutes } from './registry/registry.routes.ts';
import { connectionsRoutes } from './connections/connections.routes.ts';
import { syncRoutes } from './sync/sync.routes.ts';
import { opalRoutes } from './opal/opal.plugin.ts';
import { oauthRoutes } from './oauth/oauth.routes.ts';
import { webhooksRoutes } from './webhooks/webhooks.routes.ts';
import { subscriptionsRoutes } from './subscriptions/subscriptions.routes.ts';

export interface AppDeps extends Omit<CoreDeps, 'logger'> {
  services: Services;
  /** false while starting or draining; /readyz answers 503 then */
  isReady?: () => boolean;
  /** pass false in tests to silence request logs */
  logger?: false;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, services } = deps;
  const app = Fastify({
    logger: deps.logger === false ? false : loggerOptions(config.logLevel),
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : crypto.randomUUID();
    },
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  installErrorHandling(app);
  app.addSchema(ErrorBody);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'PIP service', version: config.version, description: 'Policy Information Point: connectors, sync and OPA data for OPAL.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key: Authorization: Bearer pip_…' } } },
      security: [{ apiKey: [] }],
    },
  });
  // swagger-ui's own routes are public
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: '1 minute',
      // per authenticated API key; per address otherwise. The limiter's hook is route-level, so it
      // runs after authentication: a caller cannot get a fresh budget by sending another token.
      keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, code: 'FST_ERR_RATE_LIMIT_EXCEEDED', message: `rate limit of ${ctx.max} requests per minute exceeded; retry after ${Math.ceil(ctx.ttl / 1000)} s` }),
    });
  }

  await app.register(metricsPlugin, { metrics: services.metrics });
  await app.register(authPlugin, { apiKeys: services.apiKeys, tenants: services.tenants });
  await app.register(auditPlugin, { audit: services.audit });

  await app.register(healthRoutes, { health: services.health, metrics: services.metrics, version: config.version, isReady: deps.isReady ?? (() => true) });
  await app.register(tenantsRoutes, { tenants: services.tenants });
  await app.register(apiKeysRoutes, { apiKeys: services.apiKeys });
  await app.register(auditRoutes, { audit: services.audit, db: deps.db });
  await app.register(secretsRoutes, { secrets: services.secrets, audit: services.audit });
  await app.register(registryRoutes, { registry: services.registry });
  await app.register(connectionsRoutes, { connections: services.connections });
  await app.register(syncRoutes, { sync: services.sync });
  await app.register(opalRoutes, { opal: services.opal });
  await app.register(oauthRoutes, { oauth: services.oauth });
  await app.register(webhooksRoutes, { webhooks: services.webhooks, bodyLimit: Math.min(config.bodyLimitBytes, 512 * 1024) });
  await app.register(subscriptionsRoutes, { subscriptions: services.subscriptions });

  return app;
}
