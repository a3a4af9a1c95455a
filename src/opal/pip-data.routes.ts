/**
 * What OPAL clients and OPA fetch, with their own authentication (data token or `opal` key, see
 * data-access.ts): the document and its parts, OPA bundles, and OPAL's update reports.
 * Every answer is 200 application/json with an object, or an error ≥ 400 with a JSON body;
 * never partial data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TENANT_ID_PATTERN } from '../tenancy/tenants.service.ts';
import { PipError } from '../errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import type { DataAccess } from './data-access.ts';
import type { OpalService } from './opal.service.ts';
import { sendBytes } from './serve-bytes.ts';

const TenantParams = Type.Object({ tenant: Type.String({ pattern: TENANT_ID_PATTERN }) });
const Name = Type.String({ minLength: 1, maxLength: 300 });
const errors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody };
const jsonObject = { 200: { type: 'object', additionalProperties: true, description: 'the JSON object (sent pre-serialized)' } };
const dataRoute = { public: true, rateLimit: false } as const;
const JSON_TYPE = 'application/json; charset=utf-8';

export const pipDataRoutes: FastifyPluginAsyncTypebox<{ opal: OpalService; access: DataAccess }> = async (app, { opal, access }) => {
  const serve = (path: string) => async (req: { params: { tenant: string }; query: { rev?: number } } & Parameters<typeof sendBytes>[0], reply: Parameters<typeof sendBytes>[1]) => {
    await access.authorize(req, req.params.tenant);
    const { part } = await opal.part(req.params.tenant, path, { minRevision: req.query.rev });
    return sendBytes(req, reply, { raw: part.raw, gz: part.gz, etag: part.etag, contentType: JSON_TYPE });
  };
  const RevQuery = Type.Object({ rev: Type.Optional(Type.Integer({ minimum: 0, description: 'tenant revision the entry was published for (set by the publisher)' })) });
  const doc = (summary: string) => ({ tags: ['opal'], summary, security: [{ apiKey: [] }], params: TenantParams, querystring: RevQuery, response: { ...jsonObject, ...errors } });

  app.get('/opal/pip-data/:tenant', { config: dataRoute, schema: doc("The tenant's whole OPA data document") }, (req, reply) => serve('')(req, reply));
  for (const part of ['users', 'groups', 'meta'] as const) {
    app.get(`/opal/pip-data/:tenant/${part}`, { config: dataRoute, schema: doc(`The tenant's ${part}`) }, (req, reply) => serve(part)(req, reply));
  }
  app.get('/opal/pip-data/:tenant/sources/:connection', {
    config: dataRoute,
    schema: { ...doc("One connection's streams (by document key or connection id)"), params: Type.Object({ tenant: Type.String({ pattern: TENANT_ID_PATTERN }), connection: Name }) },
  }, (req, reply) => serve(`sources/${req.params.connection}`)(req, reply));
  app.get('/opal/pip-data/:tenant/sources/:connection/:stream', {
    config: dataRoute,
    schema: { ...doc("One stream of a connection's records"), params: Type.Object({ tenant: Type.String({ pattern: TENANT_ID_PATTERN }), connection: Name, stream: Name }) },
  }, (req, reply) => serve(`sources/${req.params.connection}/${req.params.stream}`)(req, reply));

  app.get('/opa/bundles/:file', {
    config: dataRoute,
    schema: {
      tags: ['opal'],
      summary: 'OPA bundle of a tenant (`<tenant>.tar.gz`): .manifest and data.json files under <prefix>/<tenant>; ETag / 304',
      security: [{ apiKey: [] }],
      params: Type.Object({ file: Type.String({ maxLength: 100 }) }),
      response: { 200: { type: 'string', format: 'binary' }, ...errors },
    },
  }, async (req, reply) => {
    await access.caller(req); // credentials first: an anonymous caller learns nothing, not even names
    const m = new RegExp(`^(${TENANT_ID_PATTERN.slice(1, -1)})\\.tar\\.gz$`).exec(req.params.file);
    if (!m) throw new PipError('PIP_NOT_FOUND', 404, 'bundles are named <tenant>.tar.gz');
    await access.authorize(req, m[1]!);
    const bundle = await opal.bundle(m[1]!);
    return sendBytes(req, reply, { raw: bundle.bytes, etag: bundle.etag, contentType: 'application/gzip' });
  });

  app.post('/opal/callback', {
    config: { public: true },
    schema: {
      tags: ['opal'],
      summary: "OPAL client's DataUpdateReport after applying one of our updates (JSON, or JSON sent as text/plain)",
      security: [{ apiKey: [] }],
      body: {},
      response: { 200: Type.Object({ ok: Type.Boolean() }), 400: ErrorBody, ...errors },
    },
  }, async (req) => {
    const caller = await access.caller(req);
    if (caller.tenantId === null) throw new PipError('PIP_BAD_REQUEST', 400, 'send the report with a tenant data token or tenant key');
    await opal.report(caller.tenantId, req.body);
    return { ok: true };
  });
};
