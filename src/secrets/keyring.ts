/**
 * Versioned AES-256 keys. From PIP_ENCRYPTION_KEYS (`1:<base64 32 bytes>,2:<base64>`; the highest
 * version encrypts, all versions decrypt) or, when that is unset, from a key file in DATA_DIR that
 * is created with mode 0600 on first start (fine for one instance; set PIP_ENCRYPTION_KEYS when
 * several instances share a database).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Keyring {
  source: 'env' | 'file';
  currentVersion: number;
  key(version: number): Buffer | undefined;
  versions(): number[];
  /** key-file mode only: adds a new newest key and persists it */
  addKey?(): number;
}

export class KeyringError extends Error {}

function parseEntries(raw: string): Map<number, Buffer> {
  const keys = new Map<number, Buffer>();
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^v?(\d+):(.+)$/.exec(part);
    if (!m) throw new KeyringError('PIP_ENCRYPTION_KEYS: each entry must look like <version>:<base64 key>');
    const version = Number(m[1]);
    const key = Buffer.from(m[2]!, 'base64');
    if (key.length !== 32) throw new KeyringError(`PIP_ENCRYPTION_KEYS: key version ${version} must be 32 bytes (base64 of 32 random bytes)`);
    if (keys.has(version)) throw new KeyringError(`PIP_ENCRYPTION_KEYS: key version ${version} appears twice`);
    keys.set(version, key);
  }
  if (keys.size === 0) throw new KeyringError('PIP_ENCRYPTION_KEYS is empty');
  return keys;
}

function fromMap(keys: Map<number, Buffer>, source: Keyring['source']): Keyring {
  return {
    source,
    get currentVersion() {
      return Math.max(...keys.keys());
    },
    key: (v) => keys.get(v),
    versions: () => [...keys.keys()].sort((a, b) => a - b),
  };
}

export function keyringFromString(raw: string): Keyring {
  return fromMap(parseEntries(raw), 'env');
}

export function loadKeyring(opts: { encryptionKeys?: string; dataDir: string; warn: (msg: string) => void }): Keyring {
  if (opts.encryptionKeys) return keyringFromString(opts.encryptionKeys);
  const file = path.join(opts.dataDir, 'encryption-keys');
  let keys: Map<number, Buffer>;
  if (fs.existsSync(file)) {
    keys = parseEntries(fs.readFileSync(file, 'utf8'));
  } else {
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    keys = new Map([[1, crypto.randomBytes(32)]]);
    fs.writeFileSync(file, serialize(keys), { mode: 0o600, flag: 'wx' });
    opts.warn(`created encryption key file ${file} (mode 0600): back it up, or set PIP_ENCRYPTION_KEYS; without it stored credentials cannot be decrypted`);
  }
  const ring = fromMap(keys, 'file');
  ring.addKey = () => {
    const version = ring.currentVersion + 1;
    keys.set(version, crypto.randomBytes(32));
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, serialize(keys), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return version;
  };
  return ring;
}

function serialize(keys: Map<number, Buffer>): string {
  return [...keys.entries()].map(([v, k]) => `${v}:${k.toString('base64')}`).join(',') + '\n';
}
