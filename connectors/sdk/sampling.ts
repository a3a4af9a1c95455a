/**
 * Field inference for schemaless sources (MongoDB collections, JSON APIs): feed sampled
 * documents one at a time, get back one field per path with a type, the share of documents that
 * carry it, and whether it was ever missing or null.
 *
 * Nested objects are walked with dot notation (`address.city`) up to `maxDepth`; the object
 * itself is a field too (type `object`). Arrays are one field of type `array` (not descended).
 * Memory is bounded by the number of distinct paths (`maxFields`), never by the sample size.
 */
import type { FieldType } from './types.ts';

/** How a source describes one value: its portable type, its own type name, and children to walk. */
export interface SampledValueType {
  type: FieldType | 'null';
  /** the source's type name, e.g. `objectId`, `decimal128` */
  sourceType: string;
  /** for embedded documents: the entries to walk one level deeper */
  children?: Record<string, unknown>;
}

export type ValueTypeOf = (value: unknown) => SampledValueType;

export interface SampledField {
  /** dot-notation path */
  path: string;
  type: FieldType;
  /** source type names seen, `|`-joined in first-seen order (`int|string` when mixed) */
  sourceType: string;
  /** share of sampled documents that carry the field (null counts as carried), 0..1 */
  frequency: number;
  /** missing or null in at least one sampled document */
  nullable: boolean;
  depth: number;
}

export interface FieldSamplerOptions {
  typeOf?: ValueTypeOf;
  /** deepest nesting level walked: 1 = top-level fields only */
  maxDepth?: number;
  /** distinct paths kept; further new paths are dropped and `truncated` becomes true */
  maxFields?: number;
}

interface PathStats {
  present: number;
  nulls: number;
  types: Set<FieldType>;
  sourceTypes: Set<string>;
  depth: number;
}

/** Plain JSON values (REST payloads); sources with richer values pass their own `typeOf`. */
export function jsonValueType(value: unknown): SampledValueType {
  if (value === null || value === undefined) return { type: 'null', sourceType: 'null' };
  if (typeof value === 'boolean') return { type: 'boolean', sourceType: 'boolean' };
  if (typeof value === 'number') return Number.isInteger(value) ? { type: 'integer', sourceType: 'integer' } : { type: 'number', sourceType: 'number' };
  if (typeof value === 'bigint') return { type: 'integer', sourceType: 'integer' };
  if (typeof value === 'string') return { type: 'string', sourceType: 'string' };
  if (Array.isArray(value)) return { type: 'array', sourceType: 'array' };
  if (value instanceof Date) return { type: 'datetime', sourceType: 'date' };
  return { type: 'object', sourceType: 'object', children: value as Record<string, unknown> };
}

/** One type for a field seen with several: integers widen to numbers, anything else mixed is `json`. */
export function mergeFieldTypes(types: ReadonlySet<FieldType>): FieldType {
  if (types.size === 0) return 'json';
  if (types.size === 1) return [...types][0];
  if (types.size === 2 && types.has('integer') && types.has('number')) return 'number';
  if ([...types].every((t) => t === 'date' || t === 'datetime')) return 'datetime';
  return 'json';
}

export class FieldSampler {
  private readonly stats = new Map<string, PathStats>();
  private readonly typeOf: ValueTypeOf;
  private readonly maxDepth: number;
  private readonly maxFields: number;
  private count = 0;
  private dropped = false;

  constructor(opts: FieldSamplerOptions = {}) {
    this.typeOf = opts.typeOf ?? jsonValueType;
    this.maxDepth = Math.max(1, opts.maxDepth ?? 3);
    this.maxFields = Math.max(1, opts.maxFields ?? 1000);
  }

  /** documents added so far */
  get sampled(): number {
    return this.count;
  }

  /** true when paths were dropped because of `maxFields` */
  get truncated(): boolean {
    return this.dropped;
  }

  add(doc: Record<string, unknown>): void {
    this.count += 1;
    this.walk(doc, '', 1);
  }

  private walk(entries: Record<string, unknown>, prefix: string, depth: number): void {
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) continue;
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const stats = this.statsFor(path, depth);
      if (!stats) continue;
      const described = this.typeOf(value);
      stats.present += 1;
      stats.sourceTypes.add(described.sourceType);
      if (described.type === 'null') stats.nulls += 1;
      else stats.types.add(described.type);
      if (described.children && depth < this.maxDepth) this.walk(described.children, path, depth + 1);
    }
  }

  private statsFor(path: string, depth: number): PathStats | undefined {
    const existing = this.stats.get(path);
    if (existing) return existing;
    if (this.stats.size >= this.maxFields) {
      this.dropped = true;
      return undefined;
    }
    const created: PathStats = { present: 0, nulls: 0, types: new Set(), sourceTypes: new Set(), depth };
    this.stats.set(path, created);
    return created;
  }

  /** fields in first-seen order (parents before their children) */
  fields(): SampledField[] {
    const total = Math.max(1, this.count);
    return [...this.stats.entries()].map(([path, s]) => ({
      path,
      type: mergeFieldTypes(s.types),
      sourceType: [...s.sourceTypes].join('|'),
      frequency: s.present / total,
      nullable: s.present < this.count || s.nulls > 0,
      depth: s.depth,
    }));
  }
}
