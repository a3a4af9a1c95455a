/**
 * Builds catalog streams from rows any SQL catalog (information_schema, sys.*, ALL_*) can produce.
 * Stream names: the table name in the connection's default namespace (`public`, the configured
 * MySQL database, `dbo`), `namespace.table` elsewhere — see `streamName` / `resolveStreamTable`.
 */
import { suggestSensitivity, nameWords } from './sensitivity.ts';
import type { SqlDialect } from './sql-dialect.ts';
import type { CatalogField, CatalogStream, StreamRelation, SyncMode } from './types.ts';

export interface ColumnRow {
  namespace: string;
  table: string;
  column: string;
  /** 1-based position in the table */
  ordinal: number;
  /** the provider's type name, passed to `dialect.mapType` and reported as `sourceType` */
  dataType: string;
  nullable: boolean;
  /** identity / auto_increment / serial / rowversion: values only grow */
  increasing?: boolean;
  description?: string;
}

export interface TableRow {
  namespace: string;
  table: string;
  kind: 'table' | 'view';
  estimatedRows?: number;
  description?: string;
}

/** One primary-key column. */
export interface KeyRow {
  namespace: string;
  table: string;
  column: string;
  /** 1-based position inside the key */
  position: number;
}

/** One column of a foreign key. */
export interface ForeignKeyRow {
  namespace: string;
  table: string;
  constraintName: string;
  column: string;
  /** 1-based position inside the constraint */
  position: number;
  referencedNamespace: string;
  referencedTable: string;
  referencedColumn: string;
}

export interface BuildCatalogOptions {
  /** kinds, row estimates and comments per table; tables only present here (no columns) are skipped */
  tables?: TableRow[];
  /** namespace whose tables are named without a prefix */
  defaultNamespace?: string;
}

/** The stream name of a table: bare in the default namespace, `namespace.table` elsewhere. */
export function streamName(namespace: string | undefined, table: string, defaultNamespace?: string): string {
  return namespace === undefined || namespace === defaultNamespace ? table : `${namespace}.${table}`;
}

/** The table a configured stream reads (the inverse of `streamName`). */
export function resolveStreamTable(
  stream: { name: string; namespace?: string },
  defaultNamespace?: string,
): { namespace?: string; name: string } {
  const namespace = stream.namespace ?? defaultNamespace;
  if (namespace !== undefined && namespace !== defaultNamespace && stream.name.startsWith(`${namespace}.`)) {
    return { namespace, name: stream.name.slice(namespace.length + 1) };
  }
  return { namespace, name: stream.name };
}

const tableKey = (namespace: string, table: string): string => JSON.stringify([namespace, table]);

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

const CURSOR_WORDS = new Set(['updated', 'modified', 'changed', 'update', 'modification', 'mtime', 'lastmodified', 'lastupdated']);

/** A timestamp named like a change marker: updated_at, modifiedOn, last_changed, LastSync… */
export function looksLikeChangeTimestamp(column: string): boolean {
  const words = nameWords(column);
  return words[0] === 'last' || words.some((w) => CURSOR_WORDS.has(w));
}

function cursorCandidates(fields: CatalogField[], columns: ColumnRow[], primaryKey: string[]): string[] {
  const timestamps = fields
    .filter((f) => f.type === 'datetime' && looksLikeChangeTimestamp(f.name))
    .sort((a, b) => Number(a.nullable) - Number(b.nullable))
    .map((f) => f.name);
  const integerPk = primaryKey.length === 1 && fields.find((f) => f.name === primaryKey[0])?.type === 'integer' ? primaryKey : [];
  const increasing = columns.filter((c) => c.increasing).map((c) => c.column);
  return [...new Set([...timestamps, ...integerPk, ...increasing])];
}

function relationsOf(fks: ForeignKeyRow[], defaultNamespace?: string): StreamRelation[] {
  return [...groupBy(fks, (fk) => fk.constraintName).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, cols]) => {
      const ordered = [...cols].sort((a, b) => a.position - b.position);
      const first = ordered[0] as ForeignKeyRow;
      return {
        name,
        fields: ordered.map((c) => c.column),
        references: {
          stream: streamName(first.referencedNamespace, first.referencedTable, defaultNamespace),
          namespace: first.referencedNamespace,
          fields: ordered.map((c) => c.referencedColumn),
        },
      };
    });
}

export function buildCatalog(
  columns: ColumnRow[],
  keys: KeyRow[],
  foreignKeys: ForeignKeyRow[],
  dialect: SqlDialect,
  opts: BuildCatalogOptions = {},
): CatalogStream[] {
  const tables = new Map((opts.tables ?? []).map((t) => [tableKey(t.namespace, t.table), t]));
  const keysByTable = groupBy(keys, (k) => tableKey(k.namespace, k.table));
  const fksByTable = groupBy(foreignKeys, (fk) => tableKey(fk.namespace, fk.table));
  const streams: CatalogStream[] = [];
  for (const [key, cols] of groupBy(columns, (c) => tableKey(c.namespace, c.table))) {
    const ordered = [...cols].sort((a, b) => a.ordinal - b.ordinal);
    const { namespace, table } = ordered[0] as ColumnRow;
    const info = tables.get(key);
    const fields: CatalogField[] = ordered.map((c) => {
      const type = dialect.mapType(c.dataType);
      const field: CatalogField = {
        name: c.column,
        type,
        sourceType: c.dataType,
        nullable: c.nullable,
        suggestedSensitivity: suggestSensitivity(c.column, type),
      };
      if (c.description) field.description = c.description;
      return field;
    });
    const primaryKey = [...(keysByTable.get(key) ?? [])].sort((a, b) => a.position - b.position).map((k) => k.column);
    const candidates = cursorCandidates(fields, ordered, primaryKey);
    const syncModes: SyncMode[] = candidates.length > 0 ? ['full', 'incremental'] : ['full'];
    const stream: CatalogStream = {
      name: streamName(namespace, table, opts.defaultNamespace),
      namespace,
      kind: info?.kind ?? 'table',
      fields,
      primaryKey,
      cursorCandidates: candidates,
      relations: relationsOf(fksByTable.get(key) ?? [], opts.defaultNamespace),
      supportedSyncModes: syncModes,
    };
    if (info?.estimatedRows !== undefined && info.estimatedRows >= 0) stream.estimatedRows = info.estimatedRows;
    if (info?.description) stream.description = info.description;
    streams.push(stream);
  }
  return streams.sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name));
}

/** What a connector's catalog queries return, before filtering. */
export interface CatalogRows {
  tables: TableRow[];
  columns: ColumnRow[];
  keys: KeyRow[];
  foreignKeys: ForeignKeyRow[];
}

/**
 * Applies the table filter (see name-filter.ts) to catalog rows, then builds the streams.
 * Tables without any visible column (no privilege on them) are left out by `buildCatalog`.
 */
export function buildFilteredCatalog(
  rows: CatalogRows,
  dialect: SqlDialect,
  opts: { keep: (table: string, namespace: string) => boolean; defaultNamespace?: string },
): CatalogStream[] {
  const kept = new Set(rows.tables.filter((t) => opts.keep(t.table, t.namespace)).map((t) => tableKey(t.namespace, t.table)));
  const inScope = (r: { namespace: string; table: string }): boolean => kept.has(tableKey(r.namespace, r.table));
  return buildCatalog(rows.columns.filter(inScope), rows.keys.filter(inScope), rows.foreignKeys.filter(inScope), dialect, {
    tables: rows.tables.filter(inScope),
    defaultNamespace: opts.defaultNamespace,
  });
}

/** Coercions for catalog query rows, whose drivers return loosely typed values. */
export const catalogText = (v: unknown): string => String(v ?? '');
export const catalogNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const catalogOptionalText = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
