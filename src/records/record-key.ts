/**
 * How a source record becomes a stored record: mapped to target field names, keyed by its
 * primary key values, and content-hashed so an unchanged record is never rewritten.
 */
import crypto from 'node:crypto';
import { canonicalJson } from '../audit/audit.hash.ts';
import type { StreamMapping } from '../connections/mapping.ts';

export function recordKey(data: Record<string, unknown>, primaryKey: string[]): string | undefined {
  const values = primaryKey.map((k) => data[k]);
  if (values.some((v) => v === undefined || v === null)) return undefined;
  return values.length === 1 ? String(values[0]) : JSON.stringify(values);
}

export function mapRecord(stream: StreamMapping, data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of stream.fields) out[f.target] = data[f.name] ?? null;
  return out;
}

export function contentHash(data: Record<string, unknown>): string {
  return crypto.createHash('sha256').update(canonicalJson(data)).digest('base64url');
}
