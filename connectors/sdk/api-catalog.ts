/**
 * Catalog building for API sources (REST, GraphQL, OpenAPI): streams whose fields are inferred
 * from sampled JSON records (FieldSampler), and streams with a fixed shape (metadata such as an
 * OpenAPI document's endpoints or a GraphQL schema's types).
 */
import { SourceError } from './errors.ts';
import { FieldSampler, jsonValueType, type SampledField, type SampledValueType } from './sampling.ts';
import { suggestSensitivity } from './sensitivity.ts';
import type { CatalogField, CatalogStream, FieldType } from './types.ts';

const ISO_DATETIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/;
const ISO_DATE = /^\d{4}-\d\d-\d\d$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** JSON values as APIs send them: ISO timestamps, dates and UUIDs are recognised inside strings. */
export function apiJsonValueType(value: unknown): SampledValueType {
  if (typeof value === 'string') {
    if (ISO_DATETIME.test(value) && !Number.isNaN(Date.parse(value))) return { type: 'datetime', sourceType: 'string(date-time)' };
    if (ISO_DATE.test(value)) return { type: 'date', sourceType: 'string(date)' };
    if (UUID.test(value)) return { type: 'uuid', sourceType: 'string(uuid)' };
  }
  return jsonValueType(value);
}

export function createApiFieldSampler(maxDepth = 3): FieldSampler {
  return new FieldSampler({ typeOf: apiJsonValueType, maxDepth });
}

/** Feeds up to `max` records from pages into a sampler; stops fetching once it has enough. */
export async function sampleRecordPages(pages: AsyncIterable<Array<Record<string, unknown>>>, max: number, sampler = createApiFieldSampler()): Promise<FieldSampler> {
  for await (const page of pages) {
    for (const r of page) {
      if (sampler.sampled >= max) return sampler;
      if (r !== null && typeof r === 'object' && !Array.isArray(r)) sampler.add(r);
    }
    if (sampler.sampled >= max) return sampler;
  }
  return sampler;
}

export function catalogFieldFromSample(field: SampledField): CatalogField {
  return {
    name: field.path,
    type: field.type,
    sourceType: field.sourceType,
    nullable: field.nullable,
    suggestedSensitivity: suggestSensitivity(field.path, field.type),
    frequency: Math.round(field.frequency * 1000) / 1000,
  };
}

export interface SampledStreamOptions {
  source: string;
  name: string;
  sampler: FieldSampler;
  primaryKey: string[];
  /** the configured incremental cursor field, if any */
  cursorField?: string;
  description?: string;
}

/**
 * A stream from sampled records: fields in first-seen order, the configured primary key (which
 * sampled records must carry), and the configured cursor field as the only cursor candidate (the
 * API filters on that one). A stream with nothing to sample still lists its key and cursor fields.
 */
export function sampledStream(opts: SampledStreamOptions): CatalogStream {
  const fields = opts.sampler.fields().map(catalogFieldFromSample);
  const known = new Set(fields.map((f) => f.name));
  const required = [...opts.primaryKey, ...(opts.cursorField ? [opts.cursorField] : [])];
  if (opts.sampler.sampled > 0) {
    const missing = required.filter((k) => !known.has(k));
    if (missing.length > 0) {
      throw new SourceError(opts.source, `stream ${opts.name}: the sampled records have no field ${missing.join(', ')} (check the record selector and the primary key / cursor field)`, {
        kind: 'config',
      });
    }
  } else {
    for (const k of required) fields.push({ name: k, type: 'string', sourceType: 'unknown', nullable: false, suggestedSensitivity: suggestSensitivity(k, 'string') });
  }
  // only the configured field: it is the one the API filters on
  const cursorCandidates = opts.cursorField ? [opts.cursorField] : [];
  return {
    name: opts.name,
    kind: 'endpoint',
    fields: fields.map((f) => (opts.primaryKey.includes(f.name) ? { ...f, nullable: false } : f)),
    primaryKey: opts.primaryKey,
    cursorCandidates,
    relations: [],
    supportedSyncModes: opts.cursorField ? ['full', 'incremental'] : ['full'],
    description: opts.description ?? `${opts.sampler.sampled} records sampled${opts.sampler.truncated ? ' (field list truncated)' : ''}`,
  };
}

export interface StaticFieldDef {
  name: string;
  type: FieldType;
  nullable?: boolean;
  description?: string;
  sourceType?: string;
}

/** A stream with a fixed shape. */
export function staticStream(def: { name: string; description: string; primaryKey: string[]; fields: StaticFieldDef[]; kind?: CatalogStream['kind'] }): CatalogStream {
  return {
    name: def.name,
    kind: def.kind ?? 'entity',
    description: def.description,
    fields: def.fields.map((f) => ({
      name: f.name,
      type: f.type,
      sourceType: f.sourceType ?? f.type,
      nullable: f.nullable ?? !def.primaryKey.includes(f.name),
      suggestedSensitivity: suggestSensitivity(f.name, f.type),
      ...(f.description ? { description: f.description } : {}),
    })),
    primaryKey: def.primaryKey,
    cursorCandidates: [],
    relations: [],
    supportedSyncModes: ['full'],
  };
}
