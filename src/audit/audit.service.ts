/**
 * The audit log: append-only (the application role holds no UPDATE/DELETE on it) and hash-chained
 * per tenant: each event stores the previous event's hash, so a changed, removed or inserted row
 * breaks the chain at a point `verify` names.
 */
import type { Database, Executor } from '../db/database.ts';
import { auditRepository, type AuditRow } from './audit.repository.ts';
import { eventHash, GENESIS_HASH, type HashedFields } from './audit.hash.ts';

export const PLATFORM_CHAIN = '_platform';

export interface AuditEvent {
  /** tenant whose chain records the event; PLATFORM_CHAIN for platform-level actions */
  tenantId: string;
  actor: string;
  action: string;
  targetType?: string;
  targetId?: string;
  connectionId?: string;
  outcome: 'success' | 'failure' | 'denied';
  requestId?: string;
  details?: Record<string, unknown>;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  first_broken?: { id: number; seq: number; reason: string };
}

function hashedFields(row: Omit<AuditRow, 'id' | 'hash'>): HashedFields {
  return {
    tenant_id: row.tenant_id,
    seq: Number(row.seq),
    occurred_at: new Date(row.occurred_at).toISOString(),
    actor: row.actor,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    connection_id: row.connection_id,
    outcome: row.outcome,
    request_id: row.request_id,
    details: row.details ?? {},
    prev_hash: row.prev_hash,
  };
}

export class AuditService {
  constructor(private readonly db: Database) {}

  /** appends inside the caller's transaction, so the event commits with the change it records */
  async record(trx: Executor, e: AuditEvent): Promise<void> {
    await auditRepository.lockChain(trx, e.tenantId);
    const last = await auditRepository.last(trx, e.tenantId);
    const row: Omit<AuditRow, 'id' | 'hash'> = {
      tenant_id: e.tenantId,
      seq: (last ? Number(last.seq) : 0) + 1,
      occurred_at: new Date(),
      actor: e.actor,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      connection_id: e.connectionId ?? null,
      outcome: e.outcome,
      request_id: e.requestId ?? null,
      details: e.details ?? {},
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    await auditRepository.insert(trx, { ...row, hash: eventHash(hashedFields(row)) });
  }

  /** records in a transaction of its own (failures and denials, which have no change to join) */
  async recordAlone(e: AuditEvent): Promise<void> {
    const scope = e.tenantId === PLATFORM_CHAIN ? this.db.withSystem.bind(this.db) : (fn: any) => this.db.withTenant(e.tenantId, fn);
    await scope((trx: Executor) => this.record(trx, e));
  }

  async list(trx: Executor, filter: Parameters<typeof auditRepository.list>[1]): Promise<AuditRow[]> {
    return auditRepository.list(trx, filter);
  }

  async verify(trx: Executor, tenantId: string): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (;;) {
      const page = await auditRepository.chainPage(trx, tenantId, expectedSeq - 1, 1000);
      if (page.length === 0) break;
      for (const row of page) {
        const broken = (reason: string): VerifyResult => ({ ok: false, checked, first_broken: { id: Number(row.id), seq: Number(row.seq), reason } });
        if (Number(row.seq) !== expectedSeq) return broken(`sequence gap: expected ${expectedSeq}, found ${row.seq} (an event was removed)`);
        if (row.prev_hash !== prev) return broken('prev_hash does not match the previous event (an event was removed or reordered)');
        if (eventHash(hashedFields(row)) !== row.hash) return broken('stored hash does not match the event contents (the event was modified)');
        prev = row.hash;
        expectedSeq++;
        checked++;
      }
    }
    return { ok: true, checked };
  }
}
