/**
 * The secret vault: credentials sealed with AES-256-GCM under versioned keys. Every decryption is
 * audited. Rotation re-seals rows under the newest key in small batches, one short transaction
 * each, while old key versions stay loaded, so reads keep working throughout (no downtime).
 */
import type { Database, Executor } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Keyring } from './keyring.ts';
import { open, seal } from './vault.ts';
import { secretsRepository, type SecretRef } from './secrets.repository.ts';

const aadOf = (ref: SecretRef) => `${ref.tenantId}\u0000${ref.ownerType}\u0000${ref.ownerId}\u0000${ref.name}`;

export interface RevealContext {
  actor: string;
  requestId?: string;
  /** why the secret is needed, e.g. "connection.test" or "sync" */
  purpose: string;
  connectionId?: string;
}

export interface RotationResult {
  key_version: number;
  resealed: number;
  /** rows that could not be opened (tampered, or sealed under a key version no longer loaded) */
  failed: Array<{ id: string; key_version: number; reason: string }>;
  remaining_by_version: Record<string, number>;
}

export class SecretsService {
  constructor(
    private readonly db: Database,
    private readonly keyring: Keyring,
    private readonly audit: AuditService,
  ) {}

  get currentKeyVersion(): number {
    return this.keyring.currentVersion;
  }

  async put(trx: Executor, ref: SecretRef, value: string): Promise<void> {
    await secretsRepository.upsert(trx, ref, seal(this.keyring, value, aadOf(ref)));
  }

  async has(trx: Executor, ref: SecretRef): Promise<boolean> {
    return (await secretsRepository.find(trx, ref)) !== undefined;
  }

  /** decrypts the owner's secrets (audited once per call with the names read, never values) */
  async revealAll(trx: Executor, tenantId: string, ownerType: string, ownerId: string, ctx: RevealContext): Promise<Record<string, string>> {
    const rows = await secretsRepository.listForOwner(trx, tenantId, ownerType, ownerId);
    const out: Record<string, string> = {};
    for (const row of rows) out[row.name] = open(this.keyring, row, aadOf(row));
    if (rows.length) {
      await this.audit.record(trx, {
        tenantId,
        actor: ctx.actor,
        action: 'secret.decrypt',
        targetType: ownerType,
        targetId: ownerId,
        connectionId: ctx.connectionId,
        outcome: 'success',
        requestId: ctx.requestId,
        details: { names: rows.map((r) => r.name), purpose: ctx.purpose, key_versions: [...new Set(rows.map((r) => r.keyVersion))] },
      });
    }
    return out;
  }

  /** deletes an owner's secrets, keeping the names in `keep` */
  async deleteOwner(trx: Executor, tenantId: string, ownerType: string, ownerId: string, keep?: string[]): Promise<void> {
    await secretsRepository.deleteOwner(trx, tenantId, ownerType, ownerId, keep);
  }

  async status(): Promise<{ key_version: number; key_source: string; loaded_versions: number[]; secrets_by_version: Record<string, number> }> {
    const byVersion = await this.db.withSystem((trx) => secretsRepository.countByVersion(trx));
    return { key_version: this.keyring.currentVersion, key_source: this.keyring.source, loaded_versions: this.keyring.versions(), secrets_by_version: byVersion };
  }

  /**
   * Re-seals every secret not under the newest key. With `newKey` (key-file mode only) a fresh
   * key version is generated first. Safe to run concurrently with reads and writes: each row is
   * updated only if it still has the version we read (a concurrent write already re-sealed it).
   */
  async rotate(opts: { newKey?: boolean; batchSize?: number } = {}): Promise<RotationResult> {
    if (opts.newKey) {
      if (!this.keyring.addKey) throw new Error('KEYS_FROM_ENV');
      this.keyring.addKey();
    }
    const target = this.keyring.currentVersion;
    let resealed = 0;
    const failed: RotationResult['failed'] = [];
    let afterId: string | null = null;
    for (;;) {
      const batch = await this.db.withSystem((trx) => secretsRepository.staleBatch(trx, target, afterId, opts.batchSize ?? 200));
      if (batch.length === 0) break;
      await this.db.withSystem(async (trx) => {
        for (const row of batch) {
          const aad = aadOf(row);
          let plaintext: string;
          try {
            plaintext = open(this.keyring, row, aad);
          } catch (err) {
            // one unreadable row must not stop the others from moving to the new key
            failed.push({ id: row.id, key_version: row.keyVersion, reason: (err as Error).message });
            continue;
          }
          if (await secretsRepository.reseal(trx, row.id, row.keyVersion, seal(this.keyring, plaintext, aad))) resealed++;
        }
      });
      afterId = batch[batch.length - 1]!.id;
    }
    const remaining = await this.db.withSystem((trx) => secretsRepository.countByVersion(trx));
    return { key_version: target, resealed, failed, remaining_by_version: remaining };
  }
}
