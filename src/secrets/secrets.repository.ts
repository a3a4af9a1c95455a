import crypto from 'node:crypto';
import type { Executor } from '../db/database.ts';
import type { Sealed } from './vault.ts';

export interface SecretRef {
  tenantId: string;
  ownerType: string;
  ownerId: string;
  name: string;
}

export interface SecretRow extends Sealed {
  id: string;
  tenantId: string;
  ownerType: string;
  ownerId: string;
  name: string;
}

const toRow = (r: Record<string, any>): SecretRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  ownerType: r.owner_type,
  ownerId: r.owner_id,
  name: r.name,
  keyVersion: r.key_version,
  iv: r.iv,
  tag: r.tag,
  ciphertext: r.ciphertext,
});

export const secretsRepository = {
  async upsert(db: Executor, ref: SecretRef, sealed: Sealed): Promise<void> {
    await db('secrets')
      .insert({
        id: crypto.randomUUID(),
        tenant_id: ref.tenantId,
        owner_type: ref.ownerType,
        owner_id: ref.ownerId,
        name: ref.name,
        key_version: sealed.keyVersion,
        iv: sealed.iv,
        tag: sealed.tag,
        ciphertext: sealed.ciphertext,
      })
      .onConflict(['tenant_id', 'owner_type', 'owner_id', 'name'])
      .merge(['key_version', 'iv', 'tag', 'ciphertext', 'updated_at']);
  },
  async find(db: Executor, ref: SecretRef): Promise<SecretRow | undefined> {
    const r = await db('secrets')
      .where({ tenant_id: ref.tenantId, owner_type: ref.ownerType, owner_id: ref.ownerId, name: ref.name })
      .first();
    return r ? toRow(r) : undefined;
  },
  async listForOwner(db: Executor, tenantId: string, ownerType: string, ownerId: string): Promise<SecretRow[]> {
    const rows = await db('secrets').where({ tenant_id: tenantId, owner_type: ownerType, owner_id: ownerId }).orderBy('name');
    return rows.map(toRow);
  },
  async deleteOwner(db: Executor, tenantId: string, ownerType: string, ownerId: string, keep?: string[]): Promise<number> {
    const q = db('secrets').where({ tenant_id: tenantId, owner_type: ownerType, owner_id: ownerId });
    if (keep?.length) q.whereNotIn('name', keep);
    return q.delete();
  },
  /** a page of rows not sealed under `version`, for rotation (system scope) */
  async staleBatch(db: Executor, version: number, afterId: string | null, limit: number): Promise<SecretRow[]> {
    const q = db('secrets').whereNot('key_version', version).orderBy('id').limit(limit);
    if (afterId) q.where('id', '>', afterId);
    return (await q).map(toRow);
  },
  async reseal(db: Executor, id: string, fromVersion: number, sealed: Sealed): Promise<boolean> {
    const n = await db('secrets')
      .where({ id, key_version: fromVersion })
      .update({ key_version: sealed.keyVersion, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext, updated_at: db.raw('now()') });
    return n === 1;
  },
  async countByVersion(db: Executor): Promise<Record<string, number>> {
    const rows = await db('secrets').select('key_version').count<{ key_version: number; count: string }[]>('* as count').groupBy('key_version');
    return Object.fromEntries(rows.map((r) => [String(r.key_version), Number(r.count)]));
  },
};
