/**
 * MongoDB catalog: one stream per collection or view (listCollections with nameOnly +
 * authorizedCollections, so a user with `find` on a few collections still sees them), fields
 * inferred from a `$sample` of documents (dot-notation paths, BSON types, frequency, nullable),
 * primary key `_id`, cursor candidates: change timestamps (updatedAt, modified…) and an ObjectId
 * `_id` (it grows with insertion time, so it finds new documents but not updated ones).
 */
import type { Db } from 'mongodb';
import { FieldSampler, type SampledField } from '../sdk/sampling.ts';
import { suggestSensitivity } from '../sdk/sensitivity.ts';
import { createNameFilter } from '../sdk/name-filter.ts';
import { looksLikeChangeTimestamp } from '../sdk/sql-catalog.ts';
import type { Catalog, CatalogField, CatalogStream } from '../sdk/types.ts';
import { classifyMongoError, SOURCE } from './client.ts';
import type { MongoConfig } from './spec.ts';
import { bsonValueType } from './values.ts';

export interface CollectionInfo {
  name: string;
  type: 'collection' | 'view';
}

/** Collections and views of the database the config selects (system collections left out). */
export async function listMongoCollections(db: Db, config: MongoConfig): Promise<CollectionInfo[]> {
  const wanted = createNameFilter({ include: config.includeCollections, exclude: config.excludeCollections }, SOURCE);
  const found: CollectionInfo[] = [];
  try {
    const cursor = db.listCollections({}, { nameOnly: true, authorizedCollections: true });
    for await (const info of cursor) {
      const name = String(info.name);
      if (name.startsWith('system.') || !wanted(name)) continue;
      const type = info.type === 'view' ? 'view' : info.type === 'collection' || info.type === undefined ? 'collection' : undefined;
      if (type) found.push({ name, type });
    }
  } catch (err) {
    throw classifyMongoError(err, config, `listCollections on ${config.database}`);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function toCatalogField(field: SampledField): CatalogField {
  return {
    name: field.path,
    type: field.type,
    sourceType: field.sourceType,
    nullable: field.nullable,
    suggestedSensitivity: suggestSensitivity(field.path, field.type),
    frequency: Math.round(field.frequency * 1000) / 1000,
  };
}

const ID_FIELD: CatalogField = {
  name: '_id',
  type: 'string',
  sourceType: 'objectId',
  nullable: false,
  suggestedSensitivity: 'internal',
  frequency: 1,
};

/** Builds a stream from sampled fields: `_id` first, then fields in first-seen order. */
export function streamFromSample(info: CollectionInfo, fields: SampledField[], estimatedRows?: number): CatalogStream {
  const catalogFields = fields.map(toCatalogField);
  const id = catalogFields.find((f) => f.name === '_id');
  const hasId = id !== undefined || info.type === 'collection';
  const ordered = [...(hasId ? [id ?? ID_FIELD] : []), ...catalogFields.filter((f) => f.name !== '_id')];
  const timestamps = catalogFields
    .filter((f) => f.type === 'datetime' && looksLikeChangeTimestamp(f.name))
    .sort((a, b) => (b.frequency ?? 0) - (a.frequency ?? 0))
    .map((f) => f.name);
  const idCursor = id?.sourceType === 'objectId' ? ['_id'] : [];
  const cursorCandidates = [...timestamps, ...idCursor];
  const stream: CatalogStream = {
    name: info.name,
    kind: info.type,
    fields: ordered,
    primaryKey: hasId ? ['_id'] : [],
    cursorCandidates,
    relations: [],
    supportedSyncModes: cursorCandidates.length > 0 ? ['full', 'incremental'] : ['full'],
  };
  if (estimatedRows !== undefined) stream.estimatedRows = estimatedRows;
  return stream;
}

/** Samples one collection with `$sample` and infers its fields. */
export async function sampleCollection(db: Db, info: CollectionInfo, config: MongoConfig): Promise<CatalogStream> {
  const sampler = new FieldSampler({ typeOf: bsonValueType, maxDepth: config.maxDepth, maxFields: 2000 });
  const collection = db.collection(info.name);
  try {
    const cursor = collection.aggregate([{ $sample: { size: config.sampleSize } }], {
      promoteValues: false, // keep Int32 / Double / Long apart
      batchSize: Math.min(config.sampleSize, 1000),
      allowDiskUse: true,
    });
    for await (const doc of cursor) sampler.add(doc);
    const estimatedRows = info.type === 'collection' ? await collection.estimatedDocumentCount() : undefined;
    return streamFromSample(info, sampler.fields(), estimatedRows);
  } catch (err) {
    throw classifyMongoError(err, config, `sampling ${info.name}`);
  }
}

export async function discoverMongo(db: Db, config: MongoConfig): Promise<Catalog> {
  const streams: CatalogStream[] = [];
  for (const info of await listMongoCollections(db, config)) streams.push(await sampleCollection(db, info, config));
  return { streams };
}
