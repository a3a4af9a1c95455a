import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery } from '../http/pagination.ts';
import { errorResponses, Page } from '../http/schemas.ts';
import type { ConnectionsService } from './connections.service.ts';
import type { CatalogRow } from './connections.repository.ts';
import { CatalogView, CheckOutcome, ConfigObject, ConnectionCreate, ConnectionUpdate, ConnectionView, StreamMappingView, StreamsInput } from './connections.schemas.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const catalogView = (r: CatalogRow) => ({ connection_id: r.connection_id, version: r.version, discovered_at: new Date(r.discovered_at).toISOString(), streams: r.catalog.streams, diff: r.diff });
const sourceErrorResponse = { 502: Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) }) };

export const connectionsRoutes: FastifyPluginAsyncTypebox<{ connections: ConnectionsService }> = async (app, { connections }) => {
  app.post('/pip/connections', {
    schema: { tags: ['connections'], summary: 'Create a connection (secrets are sealed, never returned)', body: ConnectionCreate, response: { 201: ConnectionView, ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => reply.code(201).send(await connections.create(req.ctx, req.body)));

  app.get('/pip/connections', {
    schema: {
      tags: ['connections'],
      summary: "List the tenant's connections",
      querystring: Type.Intersect([PageQuery, Type.Object({
        type: Type.Optional(Type.String({ maxLength: 64 })),
        category: Type.Optional(Type.String({ maxLength: 32 })),
        status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
      })]),
      response: { 200: Page(ConnectionView), ...errorResponses },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => connections.list(req.ctx, req.query));

  app.post('/pip/connections/test', {
    schema: {
      tags: ['connections'],
      summary: 'Test an unsaved config with a real, cheap call (answers 200 with ok:false and what to fix on failure)',
      body: Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }), config: ConfigObject }, { additionalProperties: false }),
      response: { 200: CheckOutcome, ...errorResponses },
    },
    preHandler: app.requireRole('editor'),
  }, async (req) => connections.testUnsaved(req.ctx, req.body));

  app.get('/pip/connections/:id', {
    schema: { tags: ['connections'], summary: 'One connection', params: Params, response: { 200: ConnectionView, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => connections.get(req.ctx, req.params.id));

  app.put('/pip/connections/:id', {
    schema: { tags: ['connections'], summary: 'Update a connection; omitted secrets keep their stored value', params: Params, body: ConnectionUpdate, response: { 200: ConnectionView, ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req) => connections.update(req.ctx, req.params.id, req.body));

  app.delete('/pip/connections/:id', {
    schema: { tags: ['connections'], summary: 'Delete a connection, its secrets, catalog and records', params: Params, response: { 204: Type.Null(), ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => {
    await connections.delete(req.ctx, req.params.id);
    return reply.code(204).send(null);
  });

  app.post('/pip/connections/:id/test', {
    schema: { tags: ['connections'], summary: 'Test a saved connection with a real call', params: Params, response: { 200: CheckOutcome, ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req) => connections.test(req.ctx, req.params.id));

  app.get('/pip/connections/:id/health', {
    schema: {
      tags: ['connections'],
      summary: 'Live health of a connection (a real check) with the last stored test',
      params: Params,
      response: { 200: Type.Object({ status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]), check: CheckOutcome, last_test: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]) }), ...errorResponses },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => {
    const before = await connections.get(req.ctx, req.params.id);
    const check = await connections.test(req.ctx, req.params.id);
    return { status: check.ok ? ('healthy' as const) : ('unhealthy' as const), check, last_test: before.last_test };
  });

  app.post('/pip/connections/:id/discover', {
    schema: { tags: ['discovery'], summary: 'Introspect the live source and store a new catalog version (with a diff against the previous one)', params: Params, response: { 200: CatalogView, ...errorResponses, ...sourceErrorResponse } },
    preHandler: app.requireRole('editor'),
  }, async (req) => catalogView(await connections.discover(req.ctx, req.params.id)));

  app.get('/pip/connections/:id/schema', {
    schema: { tags: ['discovery'], summary: 'The latest discovered catalog with its diff against the previous one', params: Params, response: { 200: CatalogView, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => catalogView(await connections.schema(req.ctx, req.params.id)));

  app.get('/pip/connections/:id/streams', {
    schema: { tags: ['discovery'], summary: 'The mapping: selected streams and fields', params: Params, response: { 200: Type.Object({ streams: Type.Array(StreamMappingView) }), ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => ({ streams: await connections.getStreams(req.ctx, req.params.id) }));

  app.put('/pip/connections/:id/streams', {
    schema: {
      tags: ['discovery'],
      summary: 'Select streams and fields, target names, sensitivity, primary key and sync mode (validated against the catalog)',
      params: Params,
      body: StreamsInput,
      response: { 200: Type.Object({ streams: Type.Array(StreamMappingView) }), ...errorResponses },
    },
    preHandler: app.requireRole('editor'),
  }, async (req) => ({ streams: await connections.setStreams(req.ctx, req.params.id, req.body.streams) }));
};
