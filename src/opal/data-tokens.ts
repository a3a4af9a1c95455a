/**
 * Tenant data tokens: what OPAL clients send (in an entry's config.headers) to read a tenant's
 * data. HS256 JWTs signed with a key derived by HKDF from the vault's current encryption key
 * (kid names the key version, so tokens survive a key rotation while the old key stays loaded),
 * claims: tenant, token version (`tv`), audience `pip-data`. Bumping the tenant's token version
 * revokes every token issued before.
 */
import crypto from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
import type { Keyring } from '../secrets/keyring.ts';
import type { TenantsService } from '../tenancy/tenants.service.ts';

const AUDIENCE = 'pip-data';
const ISSUER = 'pip';
const KID_RE = /^pdt-v(\d+)$/;

export const looksLikeJwt = (s: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);

export class DataTokens {
  private readonly keys = new Map<number, Uint8Array>();
  constructor(
    private readonly keyring: Keyring,
    private readonly tenants: TenantsService,
    private readonly ttlSeconds: number,
  ) {}

  private key(version: number): Uint8Array | undefined {
    let k = this.keys.get(version);
    if (!k) {
      const master = this.keyring.key(version);
      if (!master) return undefined;
      k = new Uint8Array(crypto.hkdfSync('sha256', master, Buffer.from('pip/opal-data-token'), Buffer.from('hs256 signing key v1'), 32));
      this.keys.set(version, k);
    }
    return k;
  }

  /** a token for the tenant's current token version */
  async issue(tenantId: string): Promise<string> {
    const tenant = await this.tenants.getCached(tenantId);
    if (!tenant) throw new Error(`tenant ${tenantId} not found`);
    const version = this.keyring.currentVersion;
    const jwt = new SignJWT({ tenant: tenantId, tv: tenant.token_version })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: `pdt-v${version}` })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(`tenant:${tenantId}`)
      .setIssuedAt();
    if (this.ttlSeconds > 0) jwt.setExpirationTime(`${this.ttlSeconds}s`);
    return jwt.sign(this.key(version)!);
  }

  /** the tenant a token grants, or undefined (bad signature, expired, revoked, disabled tenant) */
  async verify(token: string): Promise<string | undefined> {
    try {
      const kid = decodeProtectedHeader(token).kid;
      const m = kid ? KID_RE.exec(kid) : null;
      const key = m ? this.key(Number(m[1])) : undefined;
      if (!key) return undefined;
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], audience: AUDIENCE, issuer: ISSUER });
      if (typeof payload.tenant !== 'string' || typeof payload.tv !== 'number') return undefined;
      const tenant = await this.tenants.getCached(payload.tenant);
      if (!tenant || tenant.status !== 'active' || tenant.token_version !== payload.tv) return undefined;
      return payload.tenant;
    } catch {
      return undefined;
    }
  }
}
