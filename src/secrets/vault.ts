/**
 * AES-256-GCM sealing. The additional authenticated data binds a ciphertext to its row
 * (tenant / owner / name), so a sealed value copied onto another row fails to open.
 */
import crypto from 'node:crypto';
import type { Keyring } from './keyring.ts';

export interface Sealed {
  keyVersion: number;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export class VaultError extends Error {}

export function seal(ring: Keyring, plaintext: string, aad: string): Sealed {
  const keyVersion = ring.currentVersion;
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', ring.key(keyVersion)!, iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyVersion, iv, tag: cipher.getAuthTag(), ciphertext };
}

export function open(ring: Keyring, sealed: Sealed, aad: string): string {
  const key = ring.key(sealed.keyVersion);
  if (!key) throw new VaultError(`encryption key version ${sealed.keyVersion} is not loaded`);
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.iv);
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultError('a stored secret failed authentication (wrong key or tampered row)');
  }
}
