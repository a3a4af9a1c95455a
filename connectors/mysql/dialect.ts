/**
 * MySQL / MariaDB as a SqlDialect (backtick identifiers, `?` placeholders, expanded keyset
 * predicates, which both servers turn into index ranges), and the vendor differences as a
 * strategy object chosen from the server version.
 */
import { mapCommonSqlType, quoteBacktick, typeBase, type SqlDialect, type SqlQuery } from '../sdk/sql.ts';
import type { FieldType } from '../sdk/types.ts';

export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  quoteIdent: (name) => quoteBacktick(name, 'mysql'),
  placeholder: () => '?',
  mapType(sourceType): FieldType {
    const raw = sourceType.trim().toLowerCase();
    if (/^(tinyint|bit)\(1\)/.test(raw) || raw === 'bit') return 'boolean';
    const base = typeBase(raw);
    if (base === 'bit') return 'binary';
    if (base === 'enum' || base === 'set') return 'string';
    return mapCommonSqlType(raw);
  },
  limit: (p) => `LIMIT ${p}`,
  rowValueComparison: false,
  keyText: (column) => `CAST(${column} AS CHAR)`,
};

/** What differs between MySQL and MariaDB for this connector. */
export interface MysqlFlavour {
  name: 'mysql' | 'mariadb';
  /** caps each statement of the session (MySQL: SELECTs only, in ms; MariaDB: in seconds) */
  statementTimeout(ms: number): SqlQuery;
}

const MYSQL: MysqlFlavour = {
  name: 'mysql',
  statementTimeout: (ms) => ({ text: 'SET SESSION max_execution_time = ?', values: [ms] }),
};

const MARIADB: MysqlFlavour = {
  name: 'mariadb',
  statementTimeout: (ms) => ({ text: 'SET SESSION max_statement_time = ?', values: [ms / 1000] }),
};

export function flavourOf(serverVersion: string): MysqlFlavour {
  return /mariadb/i.test(serverVersion) ? MARIADB : MYSQL;
}
