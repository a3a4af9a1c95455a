import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HealthChecks } from './health.ts';
import type { Metrics } from './metrics.ts';

const Check = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('down')]), latency_ms: Type.Optional(Type.Number()), message: Type.Optional(Type.String()) }, { additionalProperties: true });
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  version: Type.String(),
  uptime_s: Type.Number(),
  checks: Type.Record(Type.String(), Check),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ health: HealthChecks; metrics: Metrics; version: string; isReady: () => boolean }> = async (app, opts) => {
  app.get('/healthz', {
    config: { public: true, rateLimit: false },
    schema: { tags: ['operations'], summary: 'Liveness with a check per dependency (database, cache, queue)', security: [], response: { 200: Health, 503: Health } },
  }, async (_req, reply) => {
    const r = await opts.health.runAll();
    return reply.code(r.status === 'down' ? 503 : 200).send({ status: r.status, version: opts.version, uptime_s: Math.round(process.uptime()), checks: r.checks });
  });

  app.get('/readyz', {
    config: { public: true, rateLimit: false },
    schema: { tags: ['operations'], summary: 'Readiness: migrations applied, database reachable, not shutting down', security: [], response: { 200: Type.Object({ ready: Type.Boolean(), reason: Type.Optional(Type.String()) }), 503: Type.Object({ ready: Type.Boolean(), reason: Type.Optional(Type.String()) }) } },
  }, async (_req, reply) => {
    if (!opts.isReady()) return reply.code(503).send({ ready: false, reason: 'starting or shutting down' });
    const r = await opts.health.runAll();
    if (r.status === 'down') return reply.code(503).send({ ready: false, reason: 'a critical dependency is down' });
    return { ready: true };
  });

  app.get('/metrics', {
    config: { public: true, rateLimit: false },
    schema: { tags: ['operations'], summary: 'Prometheus metrics', security: [], produces: ['text/plain'], response: { 200: Type.String() } },
  }, async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()));
};
