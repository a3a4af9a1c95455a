/**
 * T-SQL as an SDK `SqlDialect`: [bracket] quoting with `]` doubled, `@pN` parameters,
 * `OFFSET 0 ROWS FETCH NEXT @pN ROWS ONLY` pages (2012+; the planner always orders), no row-value
 * comparison (the planner expands keyset predicates into OR form).
 *
 * `keyText` returns the column itself: keyset positions are read through helper columns that the
 * session turns into typed values (see keyset-values.ts), so they bind back with the column's own
 * SQL type (datetime vs datetime2, varchar vs nvarchar, rowversion) instead of as text.
 */
import { mapCommonSqlType, quoteBracket, typeBase, type SqlDialect } from '../sdk/sql.ts';
import type { FieldType } from '../sdk/types.ts';

export const SOURCE = 'sqlserver';

const SQLSERVER_TYPES: Record<string, FieldType> = {
  bit: 'boolean',
  timestamp: 'binary', // rowversion, not a date
  rowversion: 'binary',
  xml: 'string',
  sql_variant: 'json',
  hierarchyid: 'binary',
  geography: 'binary',
  geometry: 'binary',
  image: 'binary',
  datetimeoffset: 'datetime',
  smalldatetime: 'datetime',
};

export function mapSqlServerType(sourceType: string): FieldType {
  return SQLSERVER_TYPES[typeBase(sourceType)] ?? mapCommonSqlType(sourceType);
}

export const sqlServerDialect: SqlDialect = {
  name: SOURCE,
  quoteIdent: (name) => quoteBracket(name, SOURCE),
  placeholder: (index) => `@p${index}`,
  mapType: mapSqlServerType,
  limit: (placeholder) => `OFFSET 0 ROWS FETCH NEXT ${placeholder} ROWS ONLY`,
  rowValueComparison: false,
  keyText: (quotedColumn) => quotedColumn,
};

/** The type as SQL Server spells it in DDL, from INFORMATION_SCHEMA.COLUMNS fields. */
export function sqlServerTypeName(col: {
  dataType: string;
  charLength: number | null;
  precision: number | null;
  scale: number | null;
  datetimePrecision: number | null;
}): string {
  const t = col.dataType.toLowerCase();
  if (['char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary'].includes(t) && col.charLength !== null) {
    return `${t}(${col.charLength === -1 ? 'max' : col.charLength})`;
  }
  if ((t === 'decimal' || t === 'numeric') && col.precision !== null) return `${t}(${col.precision},${col.scale ?? 0})`;
  if (['datetime2', 'datetimeoffset', 'time'].includes(t) && col.datetimePrecision !== null) return `${t}(${col.datetimePrecision})`;
  return t;
}
