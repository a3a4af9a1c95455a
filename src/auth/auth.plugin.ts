/**
 * Authentication for every route unless the route says `config: { public: true }`.
 * `Authorization: Bearer <api key>` resolves to a principal; the request's tenant is the key's
 * tenant, or for platform keys the `X-PIP-Tenant` header (default `default`). A tenant key that
 * names another tenant is refused. `app.requireRole(role)` guards a route; `app.requirePlatformAdmin`
 * guards platform operations.
 */
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { PipError } from '../errors.ts';
import type { ApiKeysService } from './api-keys.service.ts';
import type { TenantsService } from '../tenancy/tenants.service.ts';
import { actorOf, isPlatformAdmin, type Principal, type RequestContext } from './principal.ts';
import { roleSatisfies, type Role } from './roles.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** no API key needed (health, metrics, docs, webhooks, OPAL's own endpoints) */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** tenant, actor and request id for services; set for authenticated routes */
    ctx: RequestContext;
  }
  interface FastifyInstance {
    requireRole(role: Role): preHandlerAsyncHookHandler;
    requirePlatformAdmin: preHandlerAsyncHookHandler;
  }
}

export const TENANT_HEADER = 'x-pip-tenant';

export function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export const authPlugin = fp<{ apiKeys: ApiKeysService; tenants: TenantsService }>(async (app, { apiKeys, tenants }) => {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('ctx', null as unknown as RequestContext);

  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    if (req.routeOptions.config?.public || req.is404) return;
    const key = bearerOf(req);
    if (!key) throw new PipError('PIP_UNAUTHORIZED', 401, 'missing API key: send Authorization: Bearer <key>');
    const principal = await apiKeys.authenticate(key);
    if (!principal) throw new PipError('PIP_UNAUTHORIZED', 401, 'API key is invalid, revoked or expired');
    const asked = req.headers[TENANT_HEADER];
    const askedTenant = Array.isArray(asked) ? asked[0] : asked;
    let tenantId: string;
    if (principal.tenantId === null) {
      tenantId = askedTenant || 'default';
    } else {
      if (askedTenant && askedTenant !== principal.tenantId) throw new PipError('PIP_FORBIDDEN', 403, `this key belongs to tenant ${principal.tenantId} and cannot act on tenant ${askedTenant}`);
      tenantId = principal.tenantId;
    }
    const tenant = await tenants.getCached(tenantId);
    if (!tenant) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${tenantId} not found`);
    if (tenant.status !== 'active' && !isPlatformAdmin(principal)) throw new PipError('PIP_TENANT_DISABLED', 403, `tenant ${tenantId} is disabled`);
    req.principal = principal;
    req.ctx = { tenantId, actor: actorOf(principal), requestId: req.id, principal };
  });

  app.decorate('requireRole', (role: Role): preHandlerAsyncHookHandler => async (req) => {
    const p = req.principal;
    if (!p || !roleSatisfies(p.role, role)) throw new PipError('PIP_FORBIDDEN', 403, `this route needs role ${role}; the key has role ${p?.role ?? 'none'}`);
  });
  app.decorate('requirePlatformAdmin', async (req: FastifyRequest) => {
    if (!isPlatformAdmin(req.principal)) throw new PipError('PIP_FORBIDDEN', 403, 'this route needs a platform admin key');
  });
});
