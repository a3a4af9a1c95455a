/**
 * Oracle catalog from the ALL_* dictionary views (they list what the user may see):
 * ALL_TABLES / ALL_VIEWS (+ ALL_TAB_COMMENTS) for streams and row estimates (NUM_ROWS from
 * optimizer statistics), ALL_TAB_COLUMNS (+ ALL_COL_COMMENTS) for fields, ALL_CONSTRAINTS with
 * ALL_CONS_COLUMNS for primary keys (type P) and foreign keys (type R). Without an owner filter,
 * Oracle-maintained schemas (SYS, SYSTEM, …) are left out.
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
import type { OracleClient } from './client.ts';
import { SOURCE, oracleDialect, oracleTypeName } from './dialect.ts';
import type { OracleConfig } from './spec.ts';
import { catalogNumber, catalogOptionalText, catalogText } from '../sdk/sql-catalog.ts';

type Row = Record<string, unknown>;

/** `<column> IN (:1, …)` for the configured owners, or every schema not maintained by Oracle. */
function ownerFilter(params: SqlParams, column: string, owners: string[]): string {
  if (owners.length === 0) return `${column} IN (SELECT USERNAME FROM ALL_USERS WHERE ORACLE_MAINTAINED = 'N')`;
  return `${column} IN (${owners.map((o) => params.add(o)).join(', ')})`;
}

export function tablesQuery(owners: string[]): SqlQuery {
  const params = new SqlParams(oracleDialect);
  const tableOwners = ownerFilter(params, 't.OWNER', owners);
  const viewOwners = ownerFilter(params, 'v.OWNER', owners);
  const text =
    "SELECT t.OWNER, t.TABLE_NAME, 'TABLE' AS KIND, t.NUM_ROWS, c.COMMENTS FROM ALL_TABLES t " +
    'LEFT JOIN ALL_TAB_COMMENTS c ON c.OWNER = t.OWNER AND c.TABLE_NAME = t.TABLE_NAME ' +
    `WHERE ${tableOwners} AND t.NESTED = 'NO' AND t.SECONDARY = 'N' AND t.DROPPED = 'NO' ` +
    'UNION ALL ' +
    "SELECT v.OWNER, v.VIEW_NAME, 'VIEW', NULL, c.COMMENTS FROM ALL_VIEWS v " +
    'LEFT JOIN ALL_TAB_COMMENTS c ON c.OWNER = v.OWNER AND c.TABLE_NAME = v.VIEW_NAME ' +
    `WHERE ${viewOwners} ` +
    'ORDER BY 1, 2';
  return { text, values: params.values };
}

export function columnsQuery(owners: string[]): SqlQuery {
  const params = new SqlParams(oracleDialect);
  const text =
    'SELECT c.OWNER, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_ID, c.DATA_TYPE, c.DATA_PRECISION, c.DATA_SCALE, ' +
    'c.CHAR_LENGTH, c.NULLABLE, c.IDENTITY_COLUMN, cc.COMMENTS FROM ALL_TAB_COLUMNS c ' +
    'LEFT JOIN ALL_COL_COMMENTS cc ON cc.OWNER = c.OWNER AND cc.TABLE_NAME = c.TABLE_NAME AND cc.COLUMN_NAME = c.COLUMN_NAME ' +
    `WHERE ${ownerFilter(params, 'c.OWNER', owners)} ` +
    'ORDER BY c.OWNER, c.TABLE_NAME, c.COLUMN_ID';
  return { text, values: params.values };
}

export function primaryKeysQuery(owners: string[]): SqlQuery {
  const params = new SqlParams(oracleDialect);
  const text =
    'SELECT c.OWNER, c.TABLE_NAME, cc.COLUMN_NAME, cc.POSITION FROM ALL_CONSTRAINTS c ' +
    'JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME ' +
    `WHERE c.CONSTRAINT_TYPE = 'P' AND ${ownerFilter(params, 'c.OWNER', owners)} ` +
    'ORDER BY c.OWNER, c.TABLE_NAME, cc.POSITION';
  return { text, values: params.values };
}

export function foreignKeysQuery(owners: string[]): SqlQuery {
  const params = new SqlParams(oracleDialect);
  const text =
    'SELECT c.OWNER, c.TABLE_NAME, c.CONSTRAINT_NAME, cc.COLUMN_NAME, cc.POSITION, ' +
    'r.OWNER AS R_OWNER, r.TABLE_NAME AS R_TABLE_NAME, rc.COLUMN_NAME AS R_COLUMN_NAME FROM ALL_CONSTRAINTS c ' +
    'JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME ' +
    'JOIN ALL_CONSTRAINTS r ON r.OWNER = c.R_OWNER AND r.CONSTRAINT_NAME = c.R_CONSTRAINT_NAME ' +
    'JOIN ALL_CONS_COLUMNS rc ON rc.OWNER = r.OWNER AND rc.CONSTRAINT_NAME = r.CONSTRAINT_NAME AND rc.POSITION = cc.POSITION ' +
    `WHERE c.CONSTRAINT_TYPE = 'R' AND ${ownerFilter(params, 'c.OWNER', owners)} ` +
    'ORDER BY c.OWNER, c.TABLE_NAME, c.CONSTRAINT_NAME, cc.POSITION';
  return { text, values: params.values };
}

const str = catalogText;
const num = catalogNumber;
const optionalText = catalogOptionalText;

export function toTableRow(row: Row): TableRow {
  const estimate = num(row.NUM_ROWS);
  const description = optionalText(row.COMMENTS);
  return {
    namespace: str(row.OWNER),
    table: str(row.TABLE_NAME),
    kind: row.KIND === 'VIEW' ? 'view' : 'table',
    ...(estimate === null ? {} : { estimatedRows: estimate }),
    ...(description ? { description } : {}),
  };
}

export function toColumnRow(row: Row): ColumnRow {
  const description = optionalText(row.COMMENTS);
  return {
    namespace: str(row.OWNER),
    table: str(row.TABLE_NAME),
    column: str(row.COLUMN_NAME),
    ordinal: Number(row.COLUMN_ID),
    dataType: oracleTypeName({
      dataType: str(row.DATA_TYPE),
      precision: num(row.DATA_PRECISION),
      scale: num(row.DATA_SCALE),
      charLength: num(row.CHAR_LENGTH),
    }),
    nullable: row.NULLABLE === 'Y',
    increasing: row.IDENTITY_COLUMN === 'YES',
    ...(description ? { description } : {}),
  };
}

export function toKeyRow(row: Row): KeyRow {
  return { namespace: str(row.OWNER), table: str(row.TABLE_NAME), column: str(row.COLUMN_NAME), position: Number(row.POSITION) };
}

export function toForeignKeyRow(row: Row): ForeignKeyRow {
  return {
    namespace: str(row.OWNER),
    table: str(row.TABLE_NAME),
    constraintName: str(row.CONSTRAINT_NAME),
    column: str(row.COLUMN_NAME),
    position: Number(row.POSITION),
    referencedNamespace: str(row.R_OWNER),
    referencedTable: str(row.R_TABLE_NAME),
    referencedColumn: str(row.R_COLUMN_NAME),
  };
}

const key = (r: { namespace: string; table: string }): string => `${r.namespace}\u0000${r.table}`;

/** `session` runs the queries; its current schema names streams without an owner prefix. */
export async function discoverOracle(session: SqlSession & Pick<OracleClient, 'currentSchema'>, config: OracleConfig): Promise<CatalogStream[]> {
  const wanted = createNameFilter({ include: config.includeTables, exclude: config.excludeTables }, SOURCE);
  const tables = (await session.query(tablesQuery(config.owners))).map(toTableRow).filter((t) => wanted(t.table, t.namespace));
  // ALL_TAB_COLUMNS also lists clusters and dropped (BIN$) tables: keep columns of listed tables only
  const listed = new Set(tables.map(key));
  const keep = (r: { namespace: string; table: string }) => listed.has(key(r));
  const columns = (await session.query(columnsQuery(config.owners))).map(toColumnRow).filter(keep);
  const keys = (await session.query(primaryKeysQuery(config.owners))).map(toKeyRow).filter(keep);
  const foreignKeys = (await session.query(foreignKeysQuery(config.owners))).map(toForeignKeyRow).filter(keep);
  return buildCatalog(columns, keys, foreignKeys, oracleDialect, { tables, defaultNamespace: await session.currentSchema() });
}
