/**
 * Oracle SQL as an SDK `SqlDialect`: "double-quoted" identifiers with `"` doubled (names keep
 * their case: discovered names are used exactly), `:N` positional binds, `FETCH FIRST :N ROWS
 * ONLY` (12c+), no row-value inequality (the planner expands keyset predicates into OR form).
 *
 * `keyText` returns the column itself: the session fetches those helper columns as text
 * (DATE/TIMESTAMP through the session's fixed NLS formats, NUMBER exactly, RAW as hex), and Oracle
 * converts the bound text back with the same NLS settings, so positions round-trip exactly.
 */
import { mapCommonSqlType, quoteDoubleQuoted, type SqlDialect } from '../sdk/sql.ts';
import type { FieldType } from '../sdk/types.ts';

export const SOURCE = 'oracle';

/** Oracle's own type names as ALL_TAB_COLUMNS reports them, plus precision / scale. */
export function oracleTypeName(col: {
  dataType: string;
  precision: number | null;
  scale: number | null;
  charLength: number | null;
}): string {
  const t = col.dataType.toUpperCase();
  if (t === 'NUMBER') {
    if (col.precision === null) return col.scale === 0 ? 'NUMBER(*,0)' : 'NUMBER';
    return `NUMBER(${col.precision},${col.scale ?? 0})`;
  }
  if (['VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR'].includes(t) && col.charLength) return `${t}(${col.charLength})`;
  if (t === 'RAW' && col.charLength) return `RAW(${col.charLength})`;
  return t;
}

export function mapOracleType(sourceType: string): FieldType {
  const t = sourceType.toUpperCase().replace(/\s+/g, ' ').trim();
  if (/^NUMBER\((\*|\d+),\s*0\)$/.test(t) || /^NUMBER\(\d+\)$/.test(t)) return 'integer';
  if (t === 'NUMBER' || t.startsWith('NUMBER(') || t.startsWith('FLOAT')) return 'number';
  if (t === 'DATE' || t.startsWith('TIMESTAMP')) return 'datetime';
  if (t.startsWith('INTERVAL') || t === 'ROWID' || t === 'UROWID' || t === 'XMLTYPE') return 'string';
  if (t === 'BFILE') return 'binary';
  return mapCommonSqlType(sourceType);
}

export const oracleDialect: SqlDialect = {
  name: SOURCE,
  quoteIdent: (name) => quoteDoubleQuoted(name, SOURCE),
  placeholder: (index) => `:${index}`,
  mapType: mapOracleType,
  limit: (placeholder) => `FETCH FIRST ${placeholder} ROWS ONLY`,
  rowValueComparison: false,
  keyText: (quotedColumn) => quotedColumn,
};
