/**
 * API keys look like `pip_<12 char prefix>_<43 char secret>`. The prefix is stored in clear for
 * lookup; the whole key only as a SHA-256 hash (the key has 256 random bits, so a fast hash is
 * the right tool, as for GitHub tokens).
 */
import crypto from 'node:crypto';

const KEY_RE = /^pip_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,200})$/;

export function generateApiKey(): { key: string; prefix: string } {
  const prefix = crypto.randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const secret = crypto.randomBytes(32).toString('base64url');
  return { key: `pip_${prefix}_${secret}`, prefix };
}

export function parseApiKey(key: string): { prefix: string } | undefined {
  const m = KEY_RE.exec(key);
  return m ? { prefix: m[1]! } : undefined;
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

/** a key given by the operator (PIP_BOOTSTRAP_ADMIN_KEY) may not follow our format: derive a prefix */
export function prefixForForeignKey(key: string): string {
  return parseApiKey(key)?.prefix ?? `boot${crypto.createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}
