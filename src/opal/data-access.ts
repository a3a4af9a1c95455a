/**
 * Who may read a tenant's data on /opal/pip-data, /opa/bundles and /opal/callback: a data token
 * of that tenant, an API key of that tenant with role `opal` (or `admin`), or a platform admin
 * key. Checked before anything of the tenant is read, so a caller of another tenant learns
 * nothing but 403.
 */
import type { FastifyRequest } from 'fastify';
import { bearerOf } from '../auth/auth.plugin.ts';
import type { ApiKeysService } from '../auth/api-keys.service.ts';
import { isPlatformAdmin } from '../auth/principal.ts';
import { roleSatisfies } from '../auth/roles.ts';
import type { TenantsService } from '../tenancy/tenants.service.ts';
import { PipError } from '../errors.ts';
import { looksLikeJwt, type DataTokens } from './data-tokens.ts';

export interface DataCaller {
  /** the tenant the credential belongs to; null for platform admin keys */
  tenantId: string | null;
  kind: 'data_token' | 'api_key';
}

export class DataAccess {
  constructor(
    private readonly tokens: DataTokens,
    private readonly apiKeys: ApiKeysService,
    private readonly tenants: TenantsService,
  ) {}

  async caller(req: FastifyRequest): Promise<DataCaller> {
    const bearer = bearerOf(req);
    if (!bearer) throw new PipError('PIP_UNAUTHORIZED', 401, 'send Authorization: Bearer <data token or opal API key>');
    if (looksLikeJwt(bearer)) {
      const tenantId = await this.tokens.verify(bearer);
      if (!tenantId) throw new PipError('PIP_UNAUTHORIZED', 401, 'the data token is invalid, expired or revoked');
      return { tenantId, kind: 'data_token' };
    }
    const principal = await this.apiKeys.authenticate(bearer);
    if (!principal) throw new PipError('PIP_UNAUTHORIZED', 401, 'API key is invalid, revoked or expired');
    if (!roleSatisfies(principal.role, 'opal')) throw new PipError('PIP_FORBIDDEN', 403, `reading OPA data needs role opal; the key has role ${principal.role}`);
    if (principal.tenantId === null && !isPlatformAdmin(principal)) throw new PipError('PIP_FORBIDDEN', 403, 'this key cannot read tenant data');
    return { tenantId: principal.tenantId, kind: 'api_key' };
  }

  /** the caller may read `tenantId`, which exists and is active */
  async authorize(req: FastifyRequest, tenantId: string): Promise<DataCaller> {
    const caller = await this.caller(req);
    if (caller.tenantId !== null && caller.tenantId !== tenantId) throw new PipError('PIP_FORBIDDEN', 403, 'this credential belongs to another tenant');
    const tenant = await this.tenants.getCached(tenantId);
    if (!tenant) throw new PipError('PIP_TENANT_NOT_FOUND', 404, `tenant ${tenantId} not found`);
    if (tenant.status !== 'active') throw new PipError('PIP_TENANT_DISABLED', 403, `tenant ${tenantId} is disabled`);
    return caller;
  }
}
