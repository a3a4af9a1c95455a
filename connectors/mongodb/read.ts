/**
 * MongoDB reads. One `find` cursor per stream, fetched `batchSize` documents per round trip
 * (the driver holds one batch at a time), projected to the selected fields:
 *   full         sorted by `_id`
 *   incremental  `{ $or: [{ f: { $gt: last } }, { f: last, _id: { $gt: lastId } }] }` sorted by
 *                (f, _id): documents sharing a cursor value are never lost between checkpoints;
 *                a checkpoint follows every `batchSize` documents and the end of the stream
 *   targeted     `{ _id: { $in: [...] } }` for the keys of a hint (a 24-hex key matches ObjectIds)
 * Cursor values are kept in state as canonical Extended JSON, so Dates, ObjectIds, Longs and
 * Decimal128s come back as the same BSON values.
 */
import { BSON, type Db, type Document, type FindCursor, type Sort } from 'mongodb';
import { SourceError } from '../sdk/errors.ts';
import { cancelledError, logMessage, record, stateMessage, streamStatus } from '../sdk/read-helpers.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadContext, ReadMessage, StreamState } from '../sdk/types.ts';
import { classifyMongoError, SOURCE } from './client.ts';
import type { MongoConfig } from './spec.ts';
import { bsonToJson, keyCandidates, valueAtPath } from './values.ts';

export interface MongoCursorState extends StreamState {
  cursorField: string;
  /** canonical Extended JSON of the last cursor value */
  cursor: unknown;
  /** canonical Extended JSON of the last `_id` */
  id?: unknown;
}

export interface MongoReadOptions {
  db: Db;
  config: MongoConfig;
  catalog: ConfiguredCatalog;
  ctx: ReadContext;
}

const TARGETED_CHUNK = 500;
const { EJSON } = BSON;

/** `{ a: 1, 'a.b': 1 }` is a path collision on MongoDB 4.4+: keep the outermost path only. */
export function projectionFor(fields: string[], always: string[]): Document | undefined {
  if (fields.length === 0) return undefined;
  const paths = [...new Set([...always, ...fields])].sort();
  const kept = paths.filter((p) => !paths.some((other) => other !== p && p.startsWith(`${other}.`)));
  return Object.fromEntries(kept.map((p) => [p, 1]));
}

/** The record for a document: the whole document, or `_id` plus the selected paths. */
export function toRecord(doc: Document, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return bsonToJson(doc) as Record<string, unknown>;
  const out: Record<string, unknown> = { _id: bsonToJson(doc._id) };
  for (const path of fields) {
    const value = valueAtPath(doc, path);
    if (value !== undefined) out[path] = bsonToJson(value);
  }
  return out;
}

function parseState(state: StreamState | undefined, cursorField: string): { cursor: unknown; id?: unknown } | undefined {
  if (!state || state.cursorField !== cursorField || state.cursor === undefined || state.cursor === null) return undefined;
  const cursor = EJSON.deserialize({ v: state.cursor }, { relaxed: false }).v as unknown;
  const id = state.id === undefined ? undefined : (EJSON.deserialize({ v: state.id }, { relaxed: false }).v as unknown);
  return { cursor, id };
}

/** The filter and sort of an incremental read after `last` (none: from the beginning). */
export function incrementalQuery(cursorField: string, last?: { cursor: unknown; id?: unknown }): { filter: Document; sort: Sort } {
  if (cursorField === '_id') {
    return { filter: last ? { _id: { $gt: last.cursor } } : {}, sort: { _id: 1 } };
  }
  const sort: Sort = { [cursorField]: 1, _id: 1 };
  if (!last) return { filter: {}, sort };
  if (last.id === undefined) return { filter: { [cursorField]: { $gt: last.cursor } }, sort };
  return {
    filter: { $or: [{ [cursorField]: { $gt: last.cursor } }, { [cursorField]: last.cursor, _id: { $gt: last.id } }] },
    sort,
  };
}

function stateOf(cursorField: string, cursor: unknown, id: unknown): MongoCursorState {
  const encode = (v: unknown) => EJSON.serialize({ v }, { relaxed: false }).v as unknown;
  return cursorField === '_id' ? { cursorField, cursor: encode(cursor) } : { cursorField, cursor: encode(cursor), id: encode(id) };
}

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw cancelledError(SOURCE, signal);
}

async function* drain(cursor: FindCursor<Document>, signal: AbortSignal, config: MongoConfig, what: string): AsyncGenerator<Document> {
  try {
    for (;;) {
      checkSignal(signal);
      let doc: Document | null;
      try {
        doc = await cursor.next();
      } catch (err) {
        throw classifyMongoError(err, config, what);
      }
      if (doc === null) return;
      yield doc;
    }
  } finally {
    await cursor.close().catch(() => undefined);
  }
}

async function* readStream(stream: ConfiguredStream, opts: MongoReadOptions, batchSize: number): AsyncGenerator<ReadMessage> {
  const { db, config, ctx } = opts;
  const incremental = stream.syncMode === 'incremental';
  const cursorField = incremental ? stream.cursorField : undefined;
  if (incremental && !cursorField) {
    throw new SourceError(SOURCE, `stream ${stream.name} is incremental but has no cursor field`, { kind: 'config' });
  }
  const query = cursorField
    ? incrementalQuery(cursorField, parseState(ctx.state[stream.name], cursorField))
    : { filter: {}, sort: { _id: 1 } as Sort };
  const projection = projectionFor(stream.fields, ['_id', ...(cursorField ? [cursorField] : [])]);
  const cursor = db.collection(stream.name).find(query.filter, { sort: query.sort, batchSize, ...(projection ? { projection } : {}) });
  let sinceCheckpoint = 0;
  let position: { cursor: unknown; id: unknown } | undefined;
  for await (const doc of drain(cursor, ctx.signal, config, `reading ${stream.name}`)) {
    yield record(stream.name, toRecord(doc, stream.fields));
    if (!cursorField) continue;
    const value = valueAtPath(doc, cursorField);
    if (value !== undefined && value !== null) position = { cursor: value, id: doc._id };
    sinceCheckpoint += 1;
    if (sinceCheckpoint >= batchSize && position) {
      yield stateMessage(stream.name, stateOf(cursorField, position.cursor, position.id));
      sinceCheckpoint = 0;
    }
  }
  if (cursorField && position && sinceCheckpoint > 0) yield stateMessage(stream.name, stateOf(cursorField, position.cursor, position.id));
}

async function* readHints(opts: MongoReadOptions, batchSize: number): AsyncGenerator<ReadMessage> {
  for (const hint of opts.ctx.hints ?? []) {
    const stream = opts.catalog.streams.find((s) => s.name === hint.stream);
    if (!stream) {
      yield logMessage('warn', `targeted read for stream ${hint.stream} skipped: the stream is not configured`);
      continue;
    }
    const ids = hint.keys.filter((k) => k._id !== undefined && k._id !== null).map((k) => k._id);
    if (ids.length < hint.keys.length) yield logMessage('warn', `targeted read for ${hint.stream}: keys without _id skipped`);
    yield streamStatus(stream.name, 'started');
    const projection = projectionFor(stream.fields, ['_id']);
    for (let i = 0; i < ids.length; i += TARGETED_CHUNK) {
      const filter: Document = { _id: { $in: ids.slice(i, i + TARGETED_CHUNK).flatMap(keyCandidates) } };
      const cursor = opts.db
        .collection(stream.name)
        .find(filter, { batchSize, ...(projection ? { projection } : {}) });
      for await (const doc of drain(cursor, opts.ctx.signal, opts.config, `targeted read of ${stream.name}`)) {
        yield record(stream.name, toRecord(doc, stream.fields));
      }
    }
    yield streamStatus(stream.name, 'complete');
  }
}

export async function* readMongo(opts: MongoReadOptions): AsyncGenerator<ReadMessage> {
  const batchSize = opts.ctx.batchSize ?? opts.config.batchSize;
  checkSignal(opts.ctx.signal);
  if (opts.ctx.hints) {
    yield* readHints(opts, batchSize);
    return;
  }
  for (const stream of opts.catalog.streams) {
    yield streamStatus(stream.name, 'started');
    yield* readStream(stream, opts, batchSize);
    yield streamStatus(stream.name, 'complete');
  }
}
