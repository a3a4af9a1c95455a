/**
 * BSON values in both directions the connector needs:
 *   - bsonValueType: BSON type → portable FieldType, for sampling-based discovery
 *   - bsonToJson: BSON value → JSON-safe value, for records (ObjectId → hex, Decimal128 → string,
 *     Date → ISO, Binary → base64 or UUID text, Long → number when exact, else string)
 *   - keyValue: a key from a hint (JSON) → the BSON values it may match (a 24-hex id is an ObjectId)
 */
import { Binary, ObjectId, type Document } from 'mongodb';
import type { SampledValueType } from '../sdk/sampling.ts';

interface BsonLike {
  _bsontype?: string;
}

function bsonTypeName(value: object): string | undefined {
  return (value as BsonLike)._bsontype;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Describes a value as sampled with `promoteValues: false` (Int32 / Double / Long stay wrapped). */
export function bsonValueType(value: unknown): SampledValueType {
  if (value === null || value === undefined) return { type: 'null', sourceType: 'null' };
  switch (typeof value) {
    case 'string':
      return { type: 'string', sourceType: 'string' };
    case 'boolean':
      return { type: 'boolean', sourceType: 'bool' };
    case 'number':
      return Number.isInteger(value) ? { type: 'integer', sourceType: 'int' } : { type: 'number', sourceType: 'double' };
    case 'bigint':
      return { type: 'integer', sourceType: 'long' };
    case 'object':
      break;
    default:
      return { type: 'json', sourceType: typeof value };
  }
  const obj = value as object;
  if (Array.isArray(obj)) return { type: 'array', sourceType: 'array' };
  if (obj instanceof Date) return { type: 'datetime', sourceType: 'date' };
  if (obj instanceof RegExp) return { type: 'string', sourceType: 'regex' };
  switch (bsonTypeName(obj)) {
    case 'ObjectId':
      return { type: 'string', sourceType: 'objectId' };
    case 'Int32':
      return { type: 'integer', sourceType: 'int' };
    case 'Long':
      return { type: 'integer', sourceType: 'long' };
    case 'Double':
      return { type: 'number', sourceType: 'double' };
    case 'Decimal128':
      return { type: 'number', sourceType: 'decimal' };
    case 'Binary':
      return (obj as Binary).sub_type === Binary.SUBTYPE_UUID
        ? { type: 'uuid', sourceType: 'uuid' }
        : { type: 'binary', sourceType: 'binData' };
    case 'Timestamp':
      return { type: 'json', sourceType: 'timestamp' };
    case 'BSONRegExp':
      return { type: 'string', sourceType: 'regex' };
    case 'Code':
      return { type: 'string', sourceType: 'javascript' };
    case 'DBRef':
      return { type: 'json', sourceType: 'dbRef' };
    case 'MinKey':
    case 'MaxKey':
    case 'BSONSymbol':
      return { type: 'string', sourceType: bsonTypeName(obj) ?? 'unknown' };
    default:
      break;
  }
  if (isPlainObject(obj)) return { type: 'object', sourceType: 'object', children: obj };
  return { type: 'json', sourceType: 'unknown' };
}

/** Converts a BSON value (as the driver returns it) to a JSON-safe value. */
export function bsonToJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'object':
      break;
    default:
      return null;
  }
  const obj = value as object;
  if (Array.isArray(obj)) return obj.map(bsonToJson);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof RegExp) return String(obj);
  if (obj instanceof Uint8Array) return Buffer.from(obj).toString('base64');
  const v = obj as Record<string, unknown> & { toString(): string; toHexString?: () => string };
  switch (bsonTypeName(obj)) {
    case 'ObjectId':
      return (obj as ObjectId).toHexString();
    case 'Decimal128':
    case 'BSONSymbol':
      return v.toString();
    case 'Int32':
    case 'Double':
      return bsonToJson((obj as { valueOf(): number }).valueOf());
    case 'Long': {
      const long = obj as { toNumber(): number; toString(): string };
      const n = long.toNumber();
      return Number.isSafeInteger(n) ? n : long.toString();
    }
    case 'Binary': {
      const bin = obj as Binary;
      if (bin.sub_type === Binary.SUBTYPE_UUID && bin.position === 16) return bin.toUUID().toHexString(true);
      return Buffer.from(bin.buffer.subarray(0, bin.position)).toString('base64');
    }
    case 'Timestamp': {
      const ts = obj as { t: number; i: number };
      return { t: ts.t, i: ts.i };
    }
    case 'BSONRegExp': {
      const re = obj as { pattern: string; options: string };
      return `/${re.pattern}/${re.options}`;
    }
    case 'Code':
      return String((obj as { code: unknown }).code);
    case 'DBRef': {
      const ref = obj as { collection: string; oid: unknown; db?: string };
      return { $ref: ref.collection, $id: bsonToJson(ref.oid), ...(ref.db ? { $db: ref.db } : {}) };
    }
    case 'MinKey':
    case 'MaxKey':
      return null;
    default:
      break;
  }
  const out: Record<string, unknown> = {};
  for (const [k, inner] of Object.entries(obj as Document)) {
    if (inner !== undefined) out[k] = bsonToJson(inner);
  }
  return out;
}

const OBJECT_ID_HEX = /^[0-9a-f]{24}$/i;

/**
 * The BSON values a key from a hint may stand for: records carry ObjectIds as hex text, so a
 * 24-hex string matches either the ObjectId or the same string stored as text.
 */
export function keyCandidates(value: unknown): unknown[] {
  if (typeof value === 'string' && OBJECT_ID_HEX.test(value)) return [ObjectId.createFromHexString(value), value];
  return [value];
}

/** Reads a dot-notation path out of a document. */
export function valueAtPath(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Document)[part];
  }
  return current;
}
