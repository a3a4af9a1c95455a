import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery } from '../http/pagination.ts';
import { errorResponses, Page } from '../http/schemas.ts';
import type { ApiKeysService } from './api-keys.service.ts';

const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('editor'), Type.Literal('viewer'), Type.Literal('opal')], { description: 'admin > editor > viewer; opal reads pip-data only' });
const ApiKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'shown in clear to recognize the key; the key itself is never shown again' }),
  role: RoleSchema,
  tenant_id: Type.Union([Type.String(), Type.Null()], { description: 'null for platform keys' }),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeysService }> = async (app, { apiKeys }) => {
  app.post('/pip/api-keys', {
    schema: {
      tags: ['api-keys'],
      summary: 'Create an API key; the key is in this response only',
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 200 }),
        role: RoleSchema,
        platform: Type.Optional(Type.Boolean({ description: 'platform-wide admin key (platform admins only)' })),
        expires_at: Type.Optional(Type.String({ format: 'date-time' })),
      }, { additionalProperties: false }),
      response: { 201: Type.Intersect([ApiKeyView, Type.Object({ key: Type.String({ description: 'the secret key: store it now, it is not shown again' }) })]), ...errorResponses },
    },
    preHandler: app.requireRole('admin'),
  }, async (req, reply) => {
    const { key, view } = await apiKeys.create(req.ctx, req.body);
    return reply.code(201).header('cache-control', 'no-store').send({ ...view, key });
  });

  app.get('/pip/api-keys', {
    schema: {
      tags: ['api-keys'],
      summary: "List the tenant's API keys (no secrets)",
      querystring: Type.Intersect([PageQuery, Type.Object({
        platform: Type.Optional(Type.Boolean({ description: 'list platform keys instead (platform admins only)' })),
        include_revoked: Type.Optional(Type.Boolean()),
      })]),
      response: { 200: Page(ApiKeyView), ...errorResponses },
    },
    preHandler: app.requireRole('admin'),
  }, async (req) => apiKeys.list(req.ctx, req.query));

  app.delete('/pip/api-keys/:id', {
    schema: { tags: ['api-keys'], summary: 'Revoke an API key', params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req, reply) => {
    await apiKeys.revoke(req.ctx, req.params.id);
    return reply.code(204).send(null);
  });
};
