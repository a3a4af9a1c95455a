/**
 * What of a mapped record reaches OPA: each mapped field is published as is, hashed, or left out.
 *
 *   - a field whose mapping says `publish: false` (the default for `restricted`) is left out;
 *   - a `confidential` field is hashed when the connection's OPAL settings say `hash_confidential`;
 *   - per-field overrides (`fields: {"<stream>.<field>": "hash" | "omit" | "plain"}`) can hash or
 *     drop any field, and `plain` can undo hashing, but never publish what the mapping withholds.
 *
 * Values lose their nulls (OPAL strips them anyway): a null field is absent, nulls inside
 * objects and arrays are dropped. Hashes are lowercase hex SHA-256 of the string value (other
 * values: of their JSON), so a policy can compare with `crypto.sha256(x)`.
 */
import crypto from 'node:crypto';
import type { Sensitivity } from '../../connectors/sdk/types.ts';
import type { StreamMapping } from '../connections/mapping.ts';

export type FieldAction = 'plain' | 'hash' | 'omit';

export interface ConnectionOpalSettings {
  /** hash every field mapped `confidential` */
  hash_confidential?: boolean;
  /** per field, keyed `<stream target name>.<field target name>` */
  fields?: Record<string, FieldAction>;
}

export interface FieldRule {
  /** normalized / source field name */
  source: string;
  /** key in the stored record and in the document */
  target: string;
  sensitivity: Sensitivity;
  action: FieldAction;
}

export const SENSITIVITY_RANK: Record<Sensitivity, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 };

export function maxSensitivity(a: Sensitivity, b: Sensitivity): Sensitivity {
  return SENSITIVITY_RANK[a] >= SENSITIVITY_RANK[b] ? a : b;
}

const publishable = (f: StreamMapping['fields'][number]) => (f.publish === undefined ? f.sensitivity !== 'restricted' : f.publish === true);

export function fieldRules(stream: StreamMapping, settings: ConnectionOpalSettings = {}): FieldRule[] {
  return stream.fields.map((f) => {
    let action: FieldAction = publishable(f) ? 'plain' : 'omit';
    if (action === 'plain' && f.sensitivity === 'confidential' && settings.hash_confidential) action = 'hash';
    const override = settings.fields?.[`${stream.target_name}.${f.target}`];
    if (override && action !== 'omit') action = override;
    return { source: f.name, target: f.target, sensitivity: f.sensitivity, action };
  });
}

/** the sensitivity a published value carries: hashes count as internal */
export function carriedSensitivity(rule: FieldRule): Sensitivity | undefined {
  if (rule.action === 'omit') return undefined;
  return rule.action === 'hash' ? 'internal' : rule.sensitivity;
}

export function hashValue(v: unknown): string {
  return crypto.createHash('sha256').update(typeof v === 'string' ? v : JSON.stringify(v)).digest('hex');
}

/** removes nulls everywhere: null object members and null array elements */
export function dropNulls(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(dropNulls).filter((x) => x !== undefined);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const y = dropNulls(x);
      if (y !== undefined) out[k] = y;
    }
    return out;
  }
  return v;
}

export function applyRule(rule: FieldRule, value: unknown): unknown {
  if (rule.action === 'omit') return undefined;
  const v = dropNulls(value);
  if (v === undefined) return undefined;
  return rule.action === 'hash' ? hashValue(v) : v;
}

/** the published record: mapped fields in mapping order, by their rules */
export function publishRecord(rules: FieldRule[], data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rules) {
    const v = applyRule(r, data[r.target]);
    if (v !== undefined) out[r.target] = v;
  }
  return out;
}

/** the admin's view: every mapped field, restricted ones masked */
export const MASK = '[restricted]';
export function maskRecord(rules: FieldRule[], data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rules) {
    const raw = dropNulls(data[r.target]);
    if (raw === undefined) continue;
    if (r.sensitivity === 'restricted') out[r.target] = MASK;
    else if (r.action === 'hash') out[r.target] = hashValue(raw);
    else out[r.target] = raw;
  }
  return out;
}
