/**
 * PostgreSQL catalog: tables, views and columns from information_schema; primary and foreign keys
 * from pg_constraint (information_schema.table_constraints hides constraints from a user holding
 * only SELECT, which is exactly the read-only user this connector asks for); row estimates from
 * pg_class.reltuples. Materialized views and partitions' children are not streams.
 */
import { createNameFilter } from '../sdk/name-filter.ts';
import { buildFilteredCatalog, type CatalogRows, type ColumnRow, type ForeignKeyRow, type KeyRow, type TableRow } from '../sdk/sql-catalog.ts';
import type { CatalogStream } from '../sdk/types.ts';
import { SOURCE, type PostgresClient } from './client.ts';
import { postgresDialect, postgresSourceType } from './dialect.ts';
import type { PostgresConfig } from './spec.ts';

export const DEFAULT_SCHEMA = 'public';

/** `$1` is the schema list, or NULL for every non-system schema. */
const SCHEMA_SCOPE = (column: string) => `(
  ($1::text[] IS NULL AND ${column} NOT IN ('pg_catalog', 'information_schema')
    AND ${column} NOT LIKE 'pg\\_toast%' AND ${column} NOT LIKE 'pg\\_temp\\_%')
  OR ${column} = ANY($1::text[]))`;

const TABLES_SQL = `
  SELECT t.table_schema AS namespace, t.table_name AS "table",
         CASE t.table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END AS kind,
         c.reltuples::float8 AS estimated_rows, obj_description(c.oid, 'pg_class') AS description
  FROM information_schema.tables t
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.table_schema
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
  WHERE t.table_type IN ('BASE TABLE', 'VIEW', 'FOREIGN') AND ${SCHEMA_SCOPE('t.table_schema')}`;

const COLUMNS_SQL = `
  SELECT table_schema AS namespace, table_name AS "table", column_name AS "column",
         ordinal_position::int AS ordinal, data_type, udt_name, character_maximum_length::int,
         numeric_precision::int, numeric_scale::int, is_nullable = 'YES' AS nullable,
         (is_identity = 'YES' OR column_default LIKE 'nextval(%') AS increasing
  FROM information_schema.columns
  WHERE ${SCHEMA_SCOPE('table_schema')}`;

const PRIMARY_KEYS_SQL = `
  SELECT n.nspname AS namespace, c.relname AS "table", a.attname AS "column", k.ord::int AS position
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
  WHERE con.contype = 'p' AND ${SCHEMA_SCOPE('n.nspname')}`;

const FOREIGN_KEYS_SQL = `
  SELECT n.nspname AS namespace, c.relname AS "table", con.conname AS "constraintName",
         a.attname AS "column", k.ord::int AS position,
         rn.nspname AS "referencedNamespace", rc.relname AS "referencedTable", ra.attname AS "referencedColumn"
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
  CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refattnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
  JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refattnum
  WHERE con.contype = 'f' AND ${SCHEMA_SCOPE('n.nspname')}`;

type Row = Record<string, unknown>;

async function fetchCatalogRows(client: PostgresClient, schemas: string[] | null): Promise<CatalogRows> {
  const values = [schemas];
  const [tables, columns, keys, foreignKeys] = await Promise.all([
    client.query({ text: TABLES_SQL, values }),
    client.query({ text: COLUMNS_SQL, values }),
    client.query({ text: PRIMARY_KEYS_SQL, values }),
    client.query({ text: FOREIGN_KEYS_SQL, values }),
  ]);
  return {
    tables: tables.map((t: Row): TableRow => ({
      namespace: t.namespace as string,
      table: t.table as string,
      kind: t.kind as 'table' | 'view',
      estimatedRows: typeof t.estimated_rows === 'number' && t.estimated_rows >= 0 ? Math.round(t.estimated_rows) : undefined,
      description: (t.description as string | null) ?? undefined,
    })),
    columns: columns.map((c: Row): ColumnRow => ({
      namespace: c.namespace as string,
      table: c.table as string,
      column: c.column as string,
      ordinal: c.ordinal as number,
      dataType: postgresSourceType(c as Parameters<typeof postgresSourceType>[0]),
      nullable: c.nullable as boolean,
      increasing: c.increasing === true,
    })),
    keys: keys as unknown as KeyRow[],
    foreignKeys: foreignKeys as unknown as ForeignKeyRow[],
  };
}

export async function discoverPostgres(client: PostgresClient, config: PostgresConfig): Promise<CatalogStream[]> {
  const keep = createNameFilter({ include: config.includeTables, exclude: config.excludeTables }, SOURCE);
  const rows = await fetchCatalogRows(client, config.schemas.length > 0 ? config.schemas : null);
  return buildFilteredCatalog(rows, postgresDialect, { keep, defaultNamespace: DEFAULT_SCHEMA });
}
