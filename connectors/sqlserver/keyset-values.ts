/**
 * Keyset positions and bound parameters for SQL Server.
 *
 * A keyset position must bind back as exactly the value the row had, compared in the column's own
 * type: a `datetime` compared as `datetime2` is never equal to itself (1/300 s ticks vs ms), a
 * `varchar` key compared with an `nvarchar` parameter sorts differently under SQL collations, a
 * `rowversion` is binary, and `datetime2(7)` has 100 ns ticks a JavaScript Date drops. So the
 * session turns each helper-column value into a tagged JSON value `{ mssql: <type>, v: <value> }`
 * (kept in state as is) and binds tagged values with that type. Untagged values (hints, batch
 * size) are bound by their JavaScript type.
 */
import { TYPES } from 'tedious';
import { SourceError } from '../sdk/errors.ts';
import { SOURCE } from './dialect.ts';

/** The column metadata tedious reports with every value. */
export interface TediousColumnMetadata {
  colName: string;
  type: { name: string };
  dataLength?: number;
  precision?: number;
  scale?: number;
}

export interface TediousColumn {
  value: unknown;
  metadata: TediousColumnMetadata;
}

export interface KeysetValue {
  mssql: string;
  v: string | number | boolean | null;
  precision?: number;
  scale?: number;
}

type DataType = (typeof TYPES)[keyof typeof TYPES];

export interface BoundParam {
  type: DataType;
  value: unknown;
  options?: { precision?: number; scale?: number; length?: number };
}

const VARIABLE_LENGTH: Record<string, Record<number, string>> = {
  IntN: { 1: 'TinyInt', 2: 'SmallInt', 4: 'Int', 8: 'BigInt' },
  FloatN: { 4: 'Real', 8: 'Float' },
  MoneyN: { 4: 'SmallMoney', 8: 'Money' },
  DateTimeN: { 4: 'SmallDateTime', 8: 'DateTime' },
};
const RENAMED: Record<string, string> = { BitN: 'Bit', DecimalN: 'Decimal', NumericN: 'Numeric' };

/** tedious reports nullable fixed types as IntN, FloatN…; this is the concrete type. */
export function concreteTypeName(meta: TediousColumnMetadata): string {
  const name = meta.type.name;
  const byLength = VARIABLE_LENGTH[name];
  if (byLength) return byLength[meta.dataLength ?? 0] ?? name;
  return RENAMED[name] ?? name;
}

const TICKS_PER_MS = 10_000; // 100 ns ticks

/** A Date as tedious returns it (UTC, with `nanosecondsDelta` for datetime2 / time / offset) → ISO text with 7 digits. */
export function preciseIso(date: Date): string {
  const delta = (date as Date & { nanosecondsDelta?: number }).nanosecondsDelta ?? 0;
  const ticks = Math.round(delta * 1e7) % TICKS_PER_MS;
  return `${date.toISOString().slice(0, -1)}${String(ticks).padStart(4, '0')}Z`;
}

/** ISO text with up to 7 fractional digits → Date plus tedious's `nanosecondDelta` (seconds). */
export function parsePreciseIso(text: string): Date {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$/.exec(text);
  if (!m) throw new SourceError(SOURCE, `keyset position ${JSON.stringify(text)} is not an ISO timestamp`, { kind: 'config' });
  const digits = (m[2] ?? '').padEnd(7, '0');
  const date = new Date(`${m[1]}.${digits.slice(0, 3)}Z`);
  const nanosecondDelta = Number(digits.slice(3)) / 1e7;
  Object.defineProperty(date, 'nanosecondDelta', { value: nanosecondDelta, enumerable: false });
  return date;
}

/** A helper-column value → its tagged keyset value. */
export function keysetValueOf(column: TediousColumn): KeysetValue {
  const type = concreteTypeName(column.metadata);
  const { value } = column;
  if (value === null || value === undefined) return { mssql: type, v: null };
  if (value instanceof Date) {
    if (type === 'Date') return { mssql: type, v: value.toISOString().slice(0, 10) };
    return { mssql: type, v: preciseIso(value) };
  }
  if (Buffer.isBuffer(value)) return { mssql: type, v: value.toString('base64') };
  if (type === 'Decimal' || type === 'Numeric') {
    return { mssql: type, v: Number(value), precision: column.metadata.precision, scale: column.metadata.scale };
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { mssql: type, v: value };
  return { mssql: 'NVarChar', v: String(value) };
}

export function isKeysetValue(value: unknown): value is KeysetValue {
  return typeof value === 'object' && value !== null && typeof (value as KeysetValue).mssql === 'string' && 'v' in value;
}

const DATE_TYPES = new Set(['DateTime2', 'DateTimeOffset', 'Time', 'DateTime', 'SmallDateTime']);

function typeNamed(name: string): DataType {
  const type = (TYPES as Record<string, DataType | undefined>)[name];
  if (!type) throw new SourceError(SOURCE, `keyset position has an unknown SQL Server type ${name}`, { kind: 'config' });
  return type;
}

function boundTagged(tag: KeysetValue): BoundParam {
  const type = typeNamed(tag.mssql);
  if (tag.v === null) return { type, value: null };
  if (DATE_TYPES.has(tag.mssql)) {
    const scaled = tag.mssql === 'DateTime' || tag.mssql === 'SmallDateTime' ? undefined : { scale: 7 };
    return { type, value: parsePreciseIso(String(tag.v)), options: scaled };
  }
  if (tag.mssql === 'Date') return { type, value: new Date(`${String(tag.v)}T00:00:00.000Z`) };
  if (tag.mssql === 'Binary' || tag.mssql === 'VarBinary' || tag.mssql === 'Image') {
    return { type: TYPES.VarBinary, value: Buffer.from(String(tag.v), 'base64') };
  }
  if (tag.mssql === 'Decimal' || tag.mssql === 'Numeric') {
    return { type, value: tag.v, options: { precision: tag.precision ?? 38, scale: tag.scale ?? 0 } };
  }
  if (tag.mssql === 'Text') return { type: TYPES.VarChar, value: tag.v };
  if (tag.mssql === 'NText' || tag.mssql === 'Xml' || tag.mssql === 'UDT' || tag.mssql === 'Variant') {
    return { type: TYPES.NVarChar, value: String(tag.v) };
  }
  return { type, value: tag.v };
}

/** Binds one value of a planned query. */
export function boundParam(value: unknown): BoundParam {
  if (isKeysetValue(value)) return boundTagged(value);
  if (value === null || value === undefined) return { type: TYPES.NVarChar, value: null };
  if (typeof value === 'boolean') return { type: TYPES.Bit, value };
  if (typeof value === 'bigint') return { type: TYPES.BigInt, value };
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) <= 2_147_483_647) return { type: TYPES.Int, value };
    if (Number.isSafeInteger(value)) return { type: TYPES.BigInt, value };
    return { type: TYPES.Float, value };
  }
  if (value instanceof Date) return { type: TYPES.DateTime2, value, options: { scale: 7 } };
  if (Buffer.isBuffer(value)) return { type: TYPES.VarBinary, value };
  if (typeof value === 'string') return { type: TYPES.NVarChar, value };
  return { type: TYPES.NVarChar, value: JSON.stringify(value) };
}
