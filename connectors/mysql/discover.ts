/**
 * MySQL / MariaDB catalog from information_schema: tables and views, columns (COLUMN_TYPE as the
 * source type), primary and foreign keys from KEY_COLUMN_USAGE, row estimates from TABLE_ROWS.
 * Databases read: `database` plus `schemas`, never the system databases.
 */
import { createNameFilter } from '../sdk/name-filter.ts';
import { buildFilteredCatalog, type CatalogRows, type ForeignKeyRow, type KeyRow } from '../sdk/sql-catalog.ts';
import type { CatalogStream } from '../sdk/types.ts';
import { SOURCE, type MysqlClient } from './client.ts';
import { mysqlDialect } from './dialect.ts';
import type { MysqlConfig } from './spec.ts';

const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export function mysqlSchemas(config: MysqlConfig): string[] {
  return [...new Set([config.database, ...config.schemas])].filter((s) => !SYSTEM_SCHEMAS.has(s.toLowerCase()));
}

const inList = (values: string[]): string => values.map(() => '?').join(', ');

const tablesSql = (n: string) => `
  SELECT TABLE_SCHEMA AS namespace, TABLE_NAME AS \`table\`, IF(TABLE_TYPE = 'VIEW', 'view', 'table') AS kind,
         TABLE_ROWS AS estimated_rows, TABLE_COMMENT AS description
  FROM information_schema.TABLES
  WHERE TABLE_SCHEMA IN (${n}) AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')`;

const columnsSql = (n: string) => `
  SELECT TABLE_SCHEMA AS namespace, TABLE_NAME AS \`table\`, COLUMN_NAME AS \`column\`,
         ORDINAL_POSITION AS ordinal, COLUMN_TYPE AS data_type, IS_NULLABLE AS is_nullable,
         EXTRA AS extra, COLUMN_COMMENT AS description
  FROM information_schema.COLUMNS
  WHERE TABLE_SCHEMA IN (${n})`;

const primaryKeysSql = (n: string) => `
  SELECT TABLE_SCHEMA AS namespace, TABLE_NAME AS \`table\`, COLUMN_NAME AS \`column\`, ORDINAL_POSITION AS position
  FROM information_schema.KEY_COLUMN_USAGE
  WHERE TABLE_SCHEMA IN (${n}) AND CONSTRAINT_NAME = 'PRIMARY'`;

const foreignKeysSql = (n: string) => `
  SELECT TABLE_SCHEMA AS namespace, TABLE_NAME AS \`table\`, CONSTRAINT_NAME AS constraintName,
         COLUMN_NAME AS \`column\`, ORDINAL_POSITION AS position, REFERENCED_TABLE_SCHEMA AS referencedNamespace,
         REFERENCED_TABLE_NAME AS referencedTable, REFERENCED_COLUMN_NAME AS referencedColumn
  FROM information_schema.KEY_COLUMN_USAGE
  WHERE TABLE_SCHEMA IN (${n}) AND REFERENCED_TABLE_NAME IS NOT NULL`;

type Row = Record<string, unknown>;
const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

async function fetchCatalogRows(client: MysqlClient, schemas: string[]): Promise<CatalogRows> {
  const n = inList(schemas);
  const run = (sql: string) => client.query({ text: sql, values: schemas });
  const [tables, columns, keys, foreignKeys] = await Promise.all([run(tablesSql(n)), run(columnsSql(n)), run(primaryKeysSql(n)), run(foreignKeysSql(n))]);
  return {
    tables: tables.map((t: Row) => ({
      namespace: text(t.namespace),
      table: text(t.table),
      kind: t.kind === 'view' ? ('view' as const) : ('table' as const),
      estimatedRows: t.estimated_rows === null ? undefined : Number(t.estimated_rows),
      description: t.description ? text(t.description) : undefined,
    })),
    columns: columns.map((c: Row) => ({
      namespace: text(c.namespace),
      table: text(c.table),
      column: text(c.column),
      ordinal: Number(c.ordinal),
      dataType: text(c.data_type),
      nullable: c.is_nullable === 'YES',
      increasing: /auto_increment/i.test(text(c.extra ?? '')),
      description: c.description ? text(c.description) : undefined,
    })),
    keys: keys.map((k: Row): KeyRow => ({ namespace: text(k.namespace), table: text(k.table), column: text(k.column), position: Number(k.position) })),
    foreignKeys: foreignKeys.map(
      (f: Row): ForeignKeyRow => ({
        namespace: text(f.namespace),
        table: text(f.table),
        constraintName: text(f.constraintName),
        column: text(f.column),
        position: Number(f.position),
        referencedNamespace: text(f.referencedNamespace),
        referencedTable: text(f.referencedTable),
        referencedColumn: text(f.referencedColumn),
      }),
    ),
  };
}

export async function discoverMysql(client: MysqlClient, config: MysqlConfig): Promise<CatalogStream[]> {
  const keep = createNameFilter({ include: config.includeTables, exclude: config.excludeTables }, SOURCE);
  const rows = await fetchCatalogRows(client, mysqlSchemas(config));
  return buildFilteredCatalog(rows, mysqlDialect, { keep, defaultNamespace: config.database });
}
