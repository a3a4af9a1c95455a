/**
 * Admin routes of the data plane (API key auth) and OPAL's external data source (OPAL client JWT).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody, errorResponses } from '../http/schemas.ts';
import { bearerOf } from '../auth/auth.plugin.ts';
import { PipError } from '../errors.ts';
import type { OpalService } from './opal.service.ts';
import type { OpalClientVerifier } from './external-source.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Entry = Type.Object({
  url: Type.String(),
  config: Type.Optional(Type.Object({ headers: Type.Record(Type.String(), Type.String()) })),
  topics: Type.Array(Type.String()),
  dst_path: Type.String(),
});
const DataSourceConfig = Type.Object({ config: Type.Object({ entries: Type.Array(Entry) }) }, { description: 'ready for OPAL_DATA_CONFIG_SOURCES; the data token in config.headers is a credential' });
const FieldAction = Type.Union([Type.Literal('plain'), Type.Literal('hash'), Type.Literal('omit')]);
const ConnectionSettings = Type.Object({
  hash_confidential: Type.Optional(Type.Boolean({ description: 'publish every field mapped confidential as its SHA-256 (hex)' })),
  fields: Type.Optional(Type.Record(Type.String({ pattern: '^[^.]+\\.[^.]+$' }), FieldAction, { description: 'per field, keyed <stream>.<field> (target names): hash, omit, or plain (undoes hashing; never publishes what the mapping withholds)' })),
}, { additionalProperties: false });
const TenantSettings = Type.Object({
  user_key: Type.Optional(Type.String({ pattern: '^(email|username|id|attribute:[A-Za-z0-9_.-]{1,128})$', description: 'identity merge key (default PIP_OPAL_USER_KEY, email): lowercased' })),
  group_key: Type.Optional(Type.Union([Type.Literal('name'), Type.Literal('id')], { description: 'groups keyed by name (default; same names merge across sources) or <connection>:<id>' })),
}, { additionalProperties: false });
const Publication = Type.Object({
  id: Type.String(),
  created_at: Type.String(),
  finished_at: Type.Union([Type.String(), Type.Null()]),
  trigger: Type.String(),
  reason: Type.String(),
  outcome: Type.String(),
  attempts: Type.Integer(),
  http_status: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  tenant_revision: Type.Union([Type.Integer(), Type.Null()]),
  dst_paths: Type.Array(Type.String()),
});
const Report = Type.Object({
  update_id: Type.Union([Type.String(), Type.Null()]),
  received_at: Type.String(),
  ok: Type.Boolean(),
  entries: Type.Array(Type.Object({ dst_path: Type.Optional(Type.String()), url: Type.Optional(Type.String()), fetched: Type.Boolean(), saved: Type.Boolean(), hash: Type.Optional(Type.String()) })),
});

export const opalConfigRoutes: FastifyPluginAsyncTypebox<{ opal: OpalService; verifier: OpalClientVerifier }> = async (app, { opal, verifier }) => {
  app.get('/pip/opal/config', {
    schema: { tags: ['opal'], summary: "The tenant's OPAL data source entries (for OPAL_DATA_CONFIG_SOURCES), with a fresh data token", response: { 200: DataSourceConfig, ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => ({ config: { entries: await opal.tenantEntries(req.ctx.tenantId) } }));

  app.get('/pip/connections/:id/opal-config', {
    schema: { tags: ['opal'], summary: "One connection's OPAL entries (its source, plus users/groups for identity connections, and meta)", params: Params, response: { 200: DataSourceConfig, ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => ({ config: { entries: await opal.connectionEntries(req.ctx, req.params.id) } }));

  app.post('/pip/opal/data-token', {
    schema: { tags: ['opal'], summary: 'Issue a data token for this tenant (shown once; for OPA bundle credentials or hand-made OPAL config)', response: { 201: Type.Object({ token: Type.String(), tenant: Type.String() }), ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req, reply) => reply.code(201).send({ token: await opal.tokens.issue(req.ctx.tenantId), tenant: req.ctx.tenantId }));

  app.post('/pip/opal/data-token/revoke', {
    schema: { tags: ['opal'], summary: "Revoke every data token of this tenant (bumps the tenant's token version); fetch new entries afterwards", response: { 200: Type.Object({ token_version: Type.Integer() }), ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => opal.revokeTokens(req.ctx));

  app.get('/pip/opal/settings', {
    schema: { tags: ['opal'], summary: "The tenant's document settings (identity merge keys)", response: { 200: TenantSettings, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => opal.tenantSettings(req.ctx));

  app.put('/pip/opal/settings', {
    schema: { tags: ['opal'], summary: "Set the tenant's document settings", body: TenantSettings, response: { 200: TenantSettings, ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => opal.setTenantSettings(req.ctx, req.body));

  app.get('/pip/connections/:id/opal-settings', {
    schema: { tags: ['opal'], summary: "A connection's publishing settings (hashing, per-field overrides)", params: Params, response: { 200: ConnectionSettings, ...errorResponses } },
    preHandler: app.requireRole('viewer'),
  }, async (req) => opal.connectionSettings(req.ctx, req.params.id));

  app.put('/pip/connections/:id/opal-settings', {
    schema: { tags: ['opal'], summary: "Set a connection's publishing settings", params: Params, body: ConnectionSettings, response: { 200: ConnectionSettings, ...errorResponses } },
    preHandler: app.requireRole('admin'),
  }, async (req) => opal.setConnectionSettings(req.ctx, req.params.id, req.body));

  app.post('/pip/connections/:id/publish-to-opal', {
    schema: { tags: ['opal'], summary: "Publish the connection's entries to the OPAL server now (202; follow opal-status)", params: Params, response: { 202: Type.Object({ publication_id: Type.String() }), ...errorResponses } },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => {
    const r = await opal.publishConnection(req.ctx, req.params.id);
    return reply.code(202).header('location', `/pip/connections/${req.params.id}/opal-status`).send(r);
  });

  app.get('/pip/connections/:id/opal-status', {
    schema: {
      tags: ['opal'],
      summary: 'The last publications to OPAL touching this connection (outcome, attempts, error) and the reports OPAL clients sent back',
      params: Params,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })) }),
      response: { 200: Type.Object({ opal_server_configured: Type.Boolean(), publications: Type.Array(Publication), reports: Type.Array(Report) }), ...errorResponses },
    },
    preHandler: app.requireRole('viewer'),
  }, async (req) => opal.status(req.ctx, req.params.id, req.query.limit));

  app.get('/pip/connections/:id/data-snapshot', {
    schema: {
      tags: ['opal'],
      summary: "The connection's records as published, for an admin: restricted fields masked, hashed fields hashed",
      params: Params,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
      response: { 200: Type.Object({ connection_id: Type.String(), key: Type.String(), fields: Type.Record(Type.String(), Type.Array(Type.Object({ field: Type.String(), sensitivity: Type.String(), published: Type.String() }))), streams: Type.Record(Type.String(), Type.Object({ records: Type.Record(Type.String(), Type.Unknown()), returned: Type.Integer(), truncated: Type.Boolean() })) }), ...errorResponses },
    },
    preHandler: app.requireRole('admin'),
  }, async (req) => opal.snapshot(req.ctx, req.params.id, req.query.limit ?? 100));

  app.get('/opal/data-sources', {
    config: { public: true },
    schema: {
      tags: ['opal'],
      summary: "OPAL server's external_source_url: the OPAL client's JWT (?token=) names the tenant; answers that tenant's entries",
      security: [],
      querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 16_384 })) }),
      response: { 200: Type.Object({ entries: Type.Array(Entry) }), 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
    },
  }, async (req) => {
    if (!verifier.configured) throw new PipError('PIP_UNAUTHORIZED', 401, 'OPAL client tokens cannot be verified here: set OPAL_AUTH_PUBLIC_KEY or OPAL_AUTH_JWKS_URL');
    const token = req.query.token ?? bearerOf(req);
    const tenantId = token ? await verifier.tenantOf(token) : undefined;
    if (!tenantId) throw new PipError('PIP_UNAUTHORIZED', 401, 'the OPAL client token is missing or invalid');
    if (!(await opal.tenantActive(tenantId))) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${tenantId} not found or disabled`);
    return { entries: await opal.tenantEntries(tenantId) };
  });
};
