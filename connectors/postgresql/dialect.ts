/** PostgreSQL as a SqlDialect: double-quoted identifiers, `$n` placeholders, row-value keysets. */
import { mapCommonSqlType, quoteDoubleQuoted, type SqlDialect } from '../sdk/sql.ts';
import type { FieldType } from '../sdk/types.ts';

export const postgresDialect: SqlDialect = {
  name: 'postgresql',
  quoteIdent: (name) => quoteDoubleQuoted(name, 'postgresql'),
  placeholder: (i) => `$${i}`,
  mapType(sourceType): FieldType {
    // money prints with a currency symbol, so it is text to us
    return sourceType === 'money' ? 'string' : mapCommonSqlType(sourceType);
  },
  limit: (p) => `LIMIT ${p}`,
  rowValueComparison: true,
  keyText: (column) => `(${column})::text`,
};

/** information_schema's type columns → a readable type name: `character varying(255)`, `numeric(10,2)`, `text[]`. */
export function postgresSourceType(col: {
  data_type: string;
  udt_name: string;
  character_maximum_length: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
}): string {
  switch (col.data_type) {
    case 'USER-DEFINED':
      return col.udt_name;
    case 'ARRAY':
      return `${col.udt_name.replace(/^_/, '')}[]`;
    case 'character varying':
    case 'character':
      return col.character_maximum_length === null ? col.data_type : `${col.data_type}(${col.character_maximum_length})`;
    case 'numeric':
      return col.numeric_precision === null ? col.data_type : `numeric(${col.numeric_precision},${col.numeric_scale ?? 0})`;
    default:
      return col.data_type;
  }
}
