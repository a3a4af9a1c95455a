/**
 * SQL Server catalog: INFORMATION_SCHEMA for tables, views and columns (it only lists what the
 * login may see), sys.key_constraints / sys.index_columns for primary keys,
 * sys.foreign_keys / sys.foreign_key_columns for relations, sys.partitions for row estimates,
 * MS_Description extended properties for comments. Each query is a small function returning
 * parameterized text; row mappers turn driver rows into the SDK's catalog rows.
 */
import {
  buildCatalog,
  createNameFilter,
  SqlParams,
  type ColumnRow,
  type ForeignKeyRow,
  type KeyRow,
  type SqlQuery,
  type SqlSession,
  type TableRow,
} from '../sdk/sql.ts';
import type { CatalogStream } from '../sdk/types.ts';
import { SOURCE, sqlServerDialect, sqlServerTypeName } from './dialect.ts';
import type { SqlServerConfig } from './spec.ts';
import { catalogNumber, catalogOptionalText, catalogText } from '../sdk/sql-catalog.ts';

export const DEFAULT_SCHEMA = 'dbo';

type Row = Record<string, unknown>;

/** `AND <column> IN (@p1, …)` for the configured schemas, or nothing. */
function schemaFilter(params: SqlParams, column: string, schemas: string[]): string {
  if (schemas.length === 0) return '';
  return ` AND ${column} IN (${schemas.map((s) => params.add(s)).join(', ')})`;
}

const OBJECT_ID = "OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + '.' + QUOTENAME(t.TABLE_NAME))";

export function tablesQuery(schemas: string[]): SqlQuery {
  const params = new SqlParams(sqlServerDialect);
  const text =
    'SELECT t.TABLE_SCHEMA AS table_schema, t.TABLE_NAME AS table_name, t.TABLE_TYPE AS table_type, ' +
    `(SELECT SUM(p.rows) FROM sys.partitions p WHERE p.object_id = ${OBJECT_ID} AND p.index_id IN (0, 1)) AS row_estimate, ` +
    `(SELECT CAST(ep.value AS nvarchar(4000)) FROM sys.extended_properties ep WHERE ep.class = 1 AND ep.major_id = ${OBJECT_ID} ` +
    "AND ep.minor_id = 0 AND ep.name = 'MS_Description') AS description " +
    "FROM INFORMATION_SCHEMA.TABLES t WHERE t.TABLE_TYPE IN ('BASE TABLE', 'VIEW')" +
    schemaFilter(params, 't.TABLE_SCHEMA', schemas) +
    ' ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME';
  return { text, values: params.values };
}

export function columnsQuery(schemas: string[]): SqlQuery {
  const params = new SqlParams(sqlServerDialect);
  const text =
    'SELECT c.TABLE_SCHEMA AS table_schema, c.TABLE_NAME AS table_name, c.COLUMN_NAME AS column_name, ' +
    'c.ORDINAL_POSITION AS ordinal_position, c.DATA_TYPE AS data_type, c.CHARACTER_MAXIMUM_LENGTH AS char_length, ' +
    'c.NUMERIC_PRECISION AS numeric_precision, c.NUMERIC_SCALE AS numeric_scale, c.DATETIME_PRECISION AS datetime_precision, ' +
    'c.IS_NULLABLE AS is_nullable, ' +
    `COLUMNPROPERTY(${OBJECT_ID}, c.COLUMN_NAME, 'IsIdentity') AS is_identity, ` +
    `(SELECT CAST(ep.value AS nvarchar(4000)) FROM sys.extended_properties ep WHERE ep.class = 1 AND ep.major_id = ${OBJECT_ID} ` +
    `AND ep.minor_id = COLUMNPROPERTY(${OBJECT_ID}, c.COLUMN_NAME, 'ColumnId') AND ep.name = 'MS_Description') AS description ` +
    'FROM INFORMATION_SCHEMA.COLUMNS c ' +
    'JOIN INFORMATION_SCHEMA.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME ' +
    "WHERE t.TABLE_TYPE IN ('BASE TABLE', 'VIEW')" +
    schemaFilter(params, 'c.TABLE_SCHEMA', schemas) +
    ' ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION';
  return { text, values: params.values };
}

export function primaryKeysQuery(schemas: string[]): SqlQuery {
  const params = new SqlParams(sqlServerDialect);
  const text =
    'SELECT s.name AS table_schema, o.name AS table_name, c.name AS column_name, ic.key_ordinal AS key_ordinal ' +
    'FROM sys.key_constraints kc ' +
    'JOIN sys.objects o ON o.object_id = kc.parent_object_id ' +
    'JOIN sys.schemas s ON s.schema_id = o.schema_id ' +
    'JOIN sys.index_columns ic ON ic.object_id = kc.parent_object_id AND ic.index_id = kc.unique_index_id ' +
    'JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id ' +
    "WHERE kc.type = 'PK'" +
    schemaFilter(params, 's.name', schemas) +
    ' ORDER BY s.name, o.name, ic.key_ordinal';
  return { text, values: params.values };
}

export function foreignKeysQuery(schemas: string[]): SqlQuery {
  const params = new SqlParams(sqlServerDialect);
  const text =
    'SELECT s.name AS table_schema, o.name AS table_name, fk.name AS constraint_name, pc.name AS column_name, ' +
    'fkc.constraint_column_id AS position, rs.name AS referenced_schema, ro.name AS referenced_table, rc.name AS referenced_column ' +
    'FROM sys.foreign_keys fk ' +
    'JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id ' +
    'JOIN sys.objects o ON o.object_id = fk.parent_object_id ' +
    'JOIN sys.schemas s ON s.schema_id = o.schema_id ' +
    'JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id ' +
    'JOIN sys.objects ro ON ro.object_id = fk.referenced_object_id ' +
    'JOIN sys.schemas rs ON rs.schema_id = ro.schema_id ' +
    'JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id ' +
    'WHERE 1 = 1' +
    schemaFilter(params, 's.name', schemas) +
    ' ORDER BY s.name, o.name, fk.name, fkc.constraint_column_id';
  return { text, values: params.values };
}

const str = catalogText;
const num = catalogNumber;
const optionalText = catalogOptionalText;

export function toTableRow(row: Row): TableRow {
  const estimate = num(row.row_estimate);
  return {
    namespace: str(row.table_schema),
    table: str(row.table_name),
    kind: row.table_type === 'VIEW' ? 'view' : 'table',
    ...(estimate === null ? {} : { estimatedRows: estimate }),
    ...(optionalText(row.description) ? { description: optionalText(row.description) } : {}),
  };
}

export function toColumnRow(row: Row): ColumnRow {
  const dataType = sqlServerTypeName({
    dataType: str(row.data_type),
    charLength: num(row.char_length),
    precision: num(row.numeric_precision),
    scale: num(row.numeric_scale),
    datetimePrecision: num(row.datetime_precision),
  });
  const base = str(row.data_type).toLowerCase();
  return {
    namespace: str(row.table_schema),
    table: str(row.table_name),
    column: str(row.column_name),
    ordinal: Number(row.ordinal_position),
    dataType,
    nullable: row.is_nullable === 'YES',
    // identity columns and rowversion (INFORMATION_SCHEMA calls it `timestamp`) only grow
    increasing: Number(row.is_identity) === 1 || base === 'timestamp' || base === 'rowversion',
    ...(optionalText(row.description) ? { description: optionalText(row.description) } : {}),
  };
}

export function toKeyRow(row: Row): KeyRow {
  return { namespace: str(row.table_schema), table: str(row.table_name), column: str(row.column_name), position: Number(row.key_ordinal) };
}

export function toForeignKeyRow(row: Row): ForeignKeyRow {
  return {
    namespace: str(row.table_schema),
    table: str(row.table_name),
    constraintName: str(row.constraint_name),
    column: str(row.column_name),
    position: Number(row.position),
    referencedNamespace: str(row.referenced_schema),
    referencedTable: str(row.referenced_table),
    referencedColumn: str(row.referenced_column),
  };
}

export async function discoverSqlServer(session: SqlSession, config: SqlServerConfig): Promise<CatalogStream[]> {
  const wanted = createNameFilter({ include: config.includeTables, exclude: config.excludeTables }, SOURCE);
  const keep = (r: { namespace: string; table: string }) => wanted(r.table, r.namespace);
  const tables = (await session.query(tablesQuery(config.schemas))).map(toTableRow).filter(keep);
  const columns = (await session.query(columnsQuery(config.schemas))).map(toColumnRow).filter(keep);
  const keys = (await session.query(primaryKeysQuery(config.schemas))).map(toKeyRow).filter(keep);
  const foreignKeys = (await session.query(foreignKeysQuery(config.schemas))).map(toForeignKeyRow).filter(keep);
  return buildCatalog(columns, keys, foreignKeys, sqlServerDialect, { tables, defaultNamespace: DEFAULT_SCHEMA });
}
