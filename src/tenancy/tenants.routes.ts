import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery } from '../http/pagination.ts';
import { errorResponses, Page } from '../http/schemas.ts';
import { isPlatformAdmin } from '../auth/principal.ts';
import { PipError } from '../errors.ts';
import { TENANT_ID_PATTERN, type TenantsService } from './tenants.service.ts';

const TenantView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const TenantParams = Type.Object({ id: Type.String({ pattern: TENANT_ID_PATTERN }) });

export const tenantsRoutes: FastifyPluginAsyncTypebox<{ tenants: TenantsService }> = async (app, { tenants }) => {
  app.post('/pip/tenants', {
    schema: {
      tags: ['tenants'],
      summary: 'Create a tenant (platform admin)',
      body: Type.Object({
        id: Type.String({ pattern: TENANT_ID_PATTERN, description: 'lowercase letters, digits, - and _; used in OPA paths' }),
        name: Type.String({ minLength: 1, maxLength: 200 }),
      }, { additionalProperties: false }),
      response: { 201: TenantView, ...errorResponses },
    },
    preHandler: app.requirePlatformAdmin,
  }, async (req, reply) => reply.code(201).send(await tenants.create(req.ctx, req.body)));

  app.get('/pip/tenants', {
    schema: {
      tags: ['tenants'],
      summary: 'List tenants (platform admin)',
      querystring: Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])) })]),
      response: { 200: Page(TenantView), ...errorResponses },
    },
    preHandler: app.requirePlatformAdmin,
  }, async (req) => tenants.list(req.query));

  app.get('/pip/tenants/:id', {
    schema: { tags: ['tenants'], summary: 'Get a tenant (platform admin, or any key of that tenant)', params: TenantParams, response: { 200: TenantView, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => {
    if (!isPlatformAdmin(req.principal) && req.principal?.tenantId !== req.params.id) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${req.params.id} not found`);
    return tenants.get(req.params.id);
  });

  app.patch('/pip/tenants/:id', {
    schema: {
      tags: ['tenants'],
      summary: 'Rename, disable or re-enable a tenant (platform admin)',
      params: TenantParams,
      body: Type.Object({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: TenantView, ...errorResponses },
    },
    preHandler: app.requirePlatformAdmin,
  }, async (req) => tenants.update(req.ctx, req.params.id, req.body));
};
