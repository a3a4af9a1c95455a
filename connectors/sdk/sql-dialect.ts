/**
 * The SQL dialect strategy object (quoting, placeholders, type mapping, paging clause) and the
 * small value helpers every SQL connector shares. Import through `./sql.ts`.
 */
import { SourceError } from './errors.ts';
import type { FieldType } from './types.ts';

export interface SqlDialect {
  /** source name used in errors, e.g. 'postgresql' */
  name: string;
  /** quotes an identifier so any name (quotes, semicolons, backticks, brackets) stays one identifier */
  quoteIdent(name: string): string;
  /** the bind placeholder for the i-th value, 1-based: `$1`, `?`, `@p1`, `:1` */
  placeholder(index: number): string;
  /** the provider's type name (as discover reports it) → our field type */
  mapType(sourceType: string): FieldType;
  /** the clause after ORDER BY that keeps at most `placeholder` rows: `LIMIT $3`, `FETCH FIRST :3 ROWS ONLY` */
  limit(placeholder: string): string;
  /** true when `(a, b) > (x, y)` is supported and uses indexes; otherwise an expanded OR form is built */
  rowValueComparison: boolean;
  /**
   * An expression giving a key / cursor value as exact text (e.g. `(col)::text`). When present, keyset
   * positions are read through it, so microsecond timestamps and big integers survive the round trip
   * through JSON state; when absent, the driver's value is used.
   */
  keyText?(quotedColumn: string): string;
}

export interface SqlQuery {
  text: string;
  values: unknown[];
}

/** Collects bound values and hands out the dialect's placeholders, in order. */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: SqlDialect) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.placeholder(this.values.length);
  }
}

function assertIdentifier(name: string, source: string): void {
  if (name.length === 0) throw new SourceError(source, 'empty identifier', { kind: 'config' });
  if (name.includes('\u0000')) throw new SourceError(source, 'identifier contains a NUL character', { kind: 'config' });
}

/** ANSI double-quote quoting (PostgreSQL, Oracle, SQLite): `a"b` → `"a""b"`. */
export function quoteDoubleQuoted(name: string, source = 'sql'): string {
  assertIdentifier(name, source);
  return `"${name.replace(/"/g, '""')}"`;
}

/** MySQL / MariaDB backtick quoting: `` a`b `` → `` `a``b` ``. */
export function quoteBacktick(name: string, source = 'sql'): string {
  assertIdentifier(name, source);
  return `\`${name.replace(/`/g, '``')}\``;
}

/** SQL Server bracket quoting: `a]b` → `[a]]b]`. */
export function quoteBracket(name: string, source = 'sql'): string {
  assertIdentifier(name, source);
  return `[${name.replace(/]/g, ']]')}]`;
}

/** `"schema"."table"` (or just `"table"` without a namespace). */
export function qualifiedName(dialect: SqlDialect, table: { namespace?: string; name: string }): string {
  const t = dialect.quoteIdent(table.name);
  return table.namespace ? `${dialect.quoteIdent(table.namespace)}.${t}` : t;
}

/** Lower-case type name without arguments or modifiers: `VARCHAR(255)` → `varchar`, `int(10) unsigned` → `int`. */
export function typeBase(sourceType: string): string {
  return sourceType
    .toLowerCase()
    .replace(/\(.*?\)/g, '')
    .replace(/\b(unsigned|signed|zerofill)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const TYPE_GROUPS: Array<[FieldType, string[]]> = [
  ['boolean', ['boolean', 'bool']],
  ['integer', ['int', 'integer', 'smallint', 'bigint', 'tinyint', 'mediumint', 'int2', 'int4', 'int8', 'serial',
    'smallserial', 'bigserial', 'serial4', 'serial8', 'year', 'pls_integer', 'binary_integer']],
  ['number', ['numeric', 'decimal', 'real', 'float', 'float4', 'float8', 'double', 'double precision', 'money',
    'smallmoney', 'number', 'binary_float', 'binary_double', 'dec', 'fixed']],
  ['date', ['date']],
  ['datetime', ['timestamp', 'timestamp with time zone', 'timestamp without time zone', 'timestamptz', 'datetime',
    'datetime2', 'smalldatetime', 'datetimeoffset', 'timestamp with local time zone']],
  ['time', ['time', 'time with time zone', 'time without time zone', 'timetz']],
  ['uuid', ['uuid', 'uniqueidentifier']],
  ['json', ['json', 'jsonb']],
  ['binary', ['bytea', 'blob', 'tinyblob', 'mediumblob', 'longblob', 'binary', 'varbinary', 'raw', 'long raw', 'image',
    'bit varying', 'varbit']],
];
const TYPE_BY_NAME = new Map<string, FieldType>(TYPE_GROUPS.flatMap(([t, names]) => names.map((n) => [n, t] as const)));

/**
 * A common mapping of SQL type names to field types; dialects wrap it for their quirks
 * (MySQL `tinyint(1)` is a boolean, SQL Server `timestamp` is a rowversion, Oracle `DATE` has a time).
 * Array types (`text[]`, `_int4`) map to 'array'; anything unknown is a string.
 */
export function mapCommonSqlType(sourceType: string): FieldType {
  const raw = sourceType.trim().toLowerCase();
  if (raw.endsWith('[]') || raw === 'array' || /^_[a-z]/.test(raw)) return 'array';
  const base = typeBase(raw);
  if (/^number\(\s*\d+\s*(,\s*0\s*)?\)$/.test(raw.replace(/\s+/g, ''))) return 'integer';
  if (/^(timestamp|time)\b.*\bzone$/.test(base)) return base.startsWith('timestamp') ? 'datetime' : 'time';
  return TYPE_BY_NAME.get(base) ?? 'string';
}

/**
 * A decimal as text → a number when the number prints back to the same value, else the text
 * (so `12.50` becomes 12.5 but `12345678901234567890.123` stays exact).
 */
export function exactDecimal(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  const canonical = (s: string): string => {
    let [int = '', frac = ''] = s.replace(/^\+/, '').split('.');
    const neg = int.startsWith('-');
    int = int.replace(/^-/, '').replace(/^0+(?=\d)/, '') || '0';
    frac = frac.replace(/0+$/, '');
    const body = frac ? `${int}.${frac}` : int;
    return neg && body !== '0' ? `-${body}` : body;
  };
  if (/e/i.test(text)) return n;
  return canonical(String(n).includes('e') ? n.toFixed(20) : String(n)) === canonical(text) ? n : text;
}

const SQL_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::\d{2})?|Z)?$/;

/**
 * A timestamp as a server prints it (`2024-03-01 10:20:30.123456+00`, `2024-03-01 10:20:30`) →
 * ISO 8601 keeping every fractional digit (`2024-03-01T10:20:30.123456Z`). Values without an
 * offset are read as UTC (sessions run in UTC). MySQL zero dates become null; anything else
 * (infinity, BC dates) is returned unchanged.
 */
export function sqlTimestampToIso(text: string): string | null {
  if (text.startsWith('0000-00-00')) return null;
  const m = SQL_TIMESTAMP.exec(text);
  if (!m) return text;
  const [, date, time, offsetHours, offsetMinutes] = m;
  const offset = offsetHours === undefined || (offsetHours === '+00' && (offsetMinutes ?? '00') === '00') ? 'Z' : `${offsetHours}:${offsetMinutes ?? '00'}`;
  return `${date}T${time}${offset}`;
}
