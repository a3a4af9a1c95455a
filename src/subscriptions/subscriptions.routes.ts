/**
 * A connection's provider push subscription: its status (`GET`) and a renewal now (`POST …/renew`,
 * e.g. after rotating the notification secret or changing PIP_PUBLIC_URL).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PipError } from '../errors.ts';
import { errorResponses, IdParams, NullableTimestamp, Timestamp } from '../http/schemas.ts';
import type { SubscriptionsService } from './subscriptions.service.ts';

const SubscriptionView = Type.Object({
  connection_id: Type.String(),
  status: Type.String({ description: 'active: deliveries flow; failed: not (yet) created, retrying' }),
  callback_url: Type.Union([Type.String(), Type.Null()]),
  expires_at: NullableTimestamp,
  renew_at: Timestamp,
  failures: Type.Integer(),
  last_error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  updated_at: Timestamp,
});

export const subscriptionsRoutes: FastifyPluginAsyncTypebox<{ subscriptions: SubscriptionsService }> = async (app, { subscriptions }) => {
  app.get('/pip/connections/:id/subscription', {
    schema: { tags: ['connections'], summary: "The connection's provider push subscription (Graph subscriptions, Google watch channels)", params: IdParams, response: { 200: SubscriptionView, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => subscriptions.get(req.ctx.tenantId, req.params.id));

  app.post('/pip/connections/:id/subscription/renew', {
    schema: { tags: ['connections'], summary: 'Renew (or recreate) the provider push subscription now', params: IdParams, response: { 200: SubscriptionView, ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req) => {
    const tenantId = req.ctx.tenantId;
    await subscriptions.get(tenantId, req.params.id);
    if (!(await subscriptions.requestRenewal(tenantId, req.params.id))) throw new PipError('PIP_SUBSCRIPTION_NOT_FOUND', 404, `connection ${req.params.id} has no provider subscription`);
    await subscriptions.pass();
    return subscriptions.get(tenantId, req.params.id);
  });
};
