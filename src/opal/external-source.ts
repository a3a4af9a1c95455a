/**
 * The OPAL server's `external_source_url`: OPAL redirects each client asking for its data
 * sources here with the client's JWT as `?token=` (the redirect drops Authorization). The token
 * is verified (RS256, OPAL_AUTH_PUBLIC_KEY or OPAL_AUTH_JWKS_URL, audience and issuer), its tenant
 * claim names the tenant, and the answer is that tenant's entries. The token is never logged or
 * cached by value (OPAL's client tokens live a year).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface ExternalSourceOptions {
  publicKey?: string;
  jwksUrl?: string;
  audience: string;
  issuer: string;
  tenantClaim: string;
}

/**
 * OPAL_AUTH_PUBLIC_KEY as OPAL takes it: a PEM (SPKI or PKCS#1), or an OpenSSH `ssh-rsa` line
 * (what `opal-cli generate-keypair` prints); `\n` escapes are accepted for one-line env values.
 */
export function parsePublicKey(raw: string): KeyObject {
  const text = raw.includes('\\n') ? raw.replace(/\\n/g, '\n') : raw;
  const trimmed = text.trim();
  if (trimmed.startsWith('ssh-rsa ')) return sshRsaKey(trimmed);
  return createPublicKey(trimmed);
}

function sshRsaKey(line: string): KeyObject {
  const blob = Buffer.from(line.split(/\s+/)[1] ?? '', 'base64');
  let at = 0;
  const next = () => {
    const len = blob.readUInt32BE(at);
    const v = blob.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return v;
  };
  if (next().toString() !== 'ssh-rsa') throw new Error('not an ssh-rsa key');
  const e = next();
  const n = next();
  const b64u = (b: Buffer) => Buffer.from(b[0] === 0 ? b.subarray(1) : b).toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
}

export class OpalClientVerifier {
  private readonly key?: KeyObject | JWTVerifyGetKey;

  constructor(private readonly opts: ExternalSourceOptions) {
    if (opts.publicKey) this.key = parsePublicKey(opts.publicKey);
    else if (opts.jwksUrl) this.key = createRemoteJWKSet(new URL(opts.jwksUrl), { cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
  }

  get configured(): boolean {
    return this.key !== undefined;
  }

  /** the tenant the OPAL client token names, or undefined when the token is not valid */
  async tenantOf(token: string): Promise<string | undefined> {
    if (!this.key) return undefined;
    try {
      const verify = { algorithms: ['RS256'], audience: this.opts.audience, issuer: this.opts.issuer };
      const { payload } = this.key instanceof Function ? await jwtVerify(token, this.key, verify) : await jwtVerify(token, this.key, verify);
      const tenant = payload[this.opts.tenantClaim];
      return typeof tenant === 'string' && tenant.length > 0 ? tenant : undefined;
    } catch {
      return undefined;
    }
  }
}
