/** Canonical hashing of audit events: sorted-key JSON, so jsonb's key reordering never matters. */
import crypto from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface HashedFields {
  tenant_id: string;
  seq: number;
  occurred_at: string;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  connection_id: string | null;
  outcome: string;
  request_id: string | null;
  details: unknown;
  prev_hash: string;
}

export function eventHash(e: HashedFields): string {
  return crypto.createHash('sha256').update(canonicalJson(e)).digest('hex');
}
