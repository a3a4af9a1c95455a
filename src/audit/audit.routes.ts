import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { decodeCursor, toPage } from '../http/pagination.ts';
import { errorResponses, Page } from '../http/schemas.ts';
import { PipError } from '../errors.ts';
import { isPlatformAdmin } from '../auth/principal.ts';
import { PLATFORM_CHAIN, type AuditService } from './audit.service.ts';
import type { Database } from '../db/database.ts';
import type { AuditRow } from './audit.repository.ts';

const AuditEventView = Type.Object({
  id: Type.Integer(),
  seq: Type.Integer(),
  occurred_at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  target_type: Type.Union([Type.String(), Type.Null()]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  connection_id: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String(),
});

const view = (r: AuditRow) => ({
  id: Number(r.id),
  seq: Number(r.seq),
  occurred_at: new Date(r.occurred_at).toISOString(),
  actor: r.actor,
  action: r.action,
  target_type: r.target_type,
  target_id: r.target_id,
  connection_id: r.connection_id,
  outcome: r.outcome,
  request_id: r.request_id,
  details: r.details,
  hash: r.hash,
});

const ChainQuery = Type.Object({ platform: Type.Optional(Type.Boolean({ description: 'the platform chain instead of the tenant (platform admins only)' })) });

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService; db: Database }> = async (app, { audit, db }) => {
  const chainOf = (req: { ctx: { tenantId: string }; principal?: any }, platform?: boolean) => {
    if (!platform) return req.ctx.tenantId;
    if (!isPlatformAdmin(req.principal)) throw new PipError('PIP_FORBIDDEN', 403, 'only a platform admin can read the platform audit chain');
    return PLATFORM_CHAIN;
  };
  const run = <T>(chain: string, fn: (trx: any) => Promise<T>) => (chain === PLATFORM_CHAIN ? db.withSystem(fn) : db.withTenant(chain, fn));

  app.get('/pip/audit/logs', {
    schema: {
      tags: ['audit'],
      summary: 'Audit events, newest first',
      querystring: Type.Object({
        connection_id: Type.Optional(Type.String({ maxLength: 64 })),
        start_date: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive lower bound (ISO 8601)' })),
        end_date: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive upper bound (ISO 8601)' })),
        action: Type.Optional(Type.String({ maxLength: 100, description: 'exact action, or a prefix such as "connection" for connection.*' })),
        actor: Type.Optional(Type.String({ maxLength: 200 })),
        platform: Type.Optional(Type.Boolean()),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
      }),
      response: { 200: Page(AuditEventView), ...errorResponses },
    },
    preHandler: app.requireRole('admin'),
  }, async (req) => {
    const q = req.query;
    const chain = chainOf(req, q.platform);
    const limit = q.limit ?? 50;
    const after = decodeCursor<{ id: number }>(q.cursor, (v) => Number.isInteger(v?.id));
    const from = q.start_date ? new Date(q.start_date) : undefined;
    const to = q.end_date ? new Date(q.end_date) : undefined;
    if (from && to && from > to) throw new PipError('PIP_BAD_REQUEST', 400, 'start_date must not be after end_date');
    const rows = await run(chain, (trx) => audit.list(trx, { tenantId: chain, connectionId: q.connection_id, action: q.action, actor: q.actor, from, to, beforeId: after?.id, limit: limit + 1 }));
    return toPage(rows, limit, view, (r) => ({ id: Number(r.id) }));
  });

  app.get('/pip/audit/verify', {
    schema: {
      tags: ['audit'],
      summary: "Verify the tenant's hash chain; names the first broken link",
      querystring: ChainQuery,
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          checked: Type.Integer(),
          first_broken: Type.Optional(Type.Object({ id: Type.Integer(), seq: Type.Integer(), reason: Type.String() })),
        }),
        ...errorResponses,
      },
    },
    preHandler: app.requireRole('admin'),
  }, async (req) => {
    const chain = chainOf(req, req.query.platform);
    return run(chain, (trx) => audit.verify(trx, chain));
  });
};
