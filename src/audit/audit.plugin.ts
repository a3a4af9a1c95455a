/**
 * Records refused and failed mutations (the services record successful ones inside their own
 * transaction). Denied reads are not recorded; failed authentication is recorded on the
 * platform chain without the key.
 */
import fp from 'fastify-plugin';
import { PLATFORM_CHAIN, type AuditService } from './audit.service.ts';

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const auditPlugin = fp<{ audit: AuditService }>(async (app, { audit }) => {
  app.addHook('onResponse', async (req, reply) => {
    if (!MUTATIONS.has(req.method) || reply.statusCode < 400 || req.is404) return;
    if (req.routeOptions.config?.public) return;
    const outcome = reply.statusCode === 401 || reply.statusCode === 403 ? 'denied' : 'failure';
    try {
      await audit.recordAlone({
        tenantId: req.ctx?.tenantId ?? PLATFORM_CHAIN,
        actor: req.ctx?.actor ?? 'anonymous',
        action: `http.${req.method.toLowerCase()}`,
        targetType: 'route',
        targetId: req.routeOptions.url,
        outcome,
        requestId: req.id,
        details: { status: reply.statusCode, path: req.url.split('?')[0] },
      });
    } catch (err) {
      req.log.error({ err }, 'could not record audit event');
    }
  });
});
