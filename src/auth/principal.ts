import type { Role } from './roles.ts';

/** who is calling: an API key's identity, resolved once per request */
export interface Principal {
  keyId: string;
  keyName: string;
  prefix: string;
  role: Role;
  /** null for platform keys */
  tenantId: string | null;
}

/** what services need to know about the caller of one request */
export interface RequestContext {
  tenantId: string;
  actor: string;
  requestId: string;
  principal?: Principal;
}

export const actorOf = (p: Principal) => `api_key:${p.keyId}`;
export const isPlatformAdmin = (p: Principal | undefined) => !!p && p.tenantId === null && p.role === 'admin';
