/**
 * Plans how one stream is read, as parameterized SQL text (pg-boss style: small functions that
 * return text + values). Identifiers go through `dialect.quoteIdent`, values are always bound.
 *
 *   keyset  the table has a key: pages of `batchSize` rows ordered by the key, each page starting
 *           after the last row of the previous one. Incremental streams order by (cursor, key…)
 *           so rows sharing a cursor value are never lost across page boundaries; the position
 *           after each page is the checkpoint `{ cursorField, cursor, pk: { col: value } }`.
 *   single  no key (views): one query the driver streams with a server-side cursor; incremental
 *           streams filter `cursor > last` and checkpoint when the stream is done.
 * Incremental reads skip rows whose cursor is NULL (they cannot be ordered against a checkpoint).
 */
import { SourceError } from './errors.ts';
import { toJsonValue } from './read-helpers.ts';
import { qualifiedName, SqlParams, type SqlDialect, type SqlQuery } from './sql-dialect.ts';
import type { StreamState, SyncMode } from './types.ts';

export interface StreamReadSpec {
  /** the stream name records are emitted under */
  stream: string;
  table: { namespace?: string; name: string };
  /** columns to read; empty means all. Key and cursor columns are always added. */
  fields: string[];
  primaryKey: string[];
  syncMode: SyncMode;
  cursorField?: string;
}

export interface IncrementalState extends StreamState {
  cursorField: string;
  cursor: unknown;
  /** key column → value of the last row read; absent for streams without a key */
  pk?: Record<string, unknown>;
}

export interface ReadPlan {
  dialect: SqlDialect;
  spec: StreamReadSpec;
  strategy: 'keyset' | 'single';
  /** the columns rows are ordered by: (cursor, key…) for incremental, key… for full */
  orderBy: string[];
  cursorField?: string;
  /** where the read starts: one value per `orderBy` column, or the cursor alone (`cursorOnly`) */
  start?: { values: unknown[]; cursorOnly: boolean };
  /** result columns added to carry exact key text; dropped from records */
  helperColumns: string[];
  batchSize: number;
}

const HELPER_PREFIX = '__pip_k';

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

function startFromState(cursorField: string, primaryKey: string[], state?: StreamState): ReadPlan['start'] {
  if (!state || state.cursorField !== cursorField || !('cursor' in state) || state.cursor === null) return undefined;
  const pk = state.pk as Record<string, unknown> | undefined;
  const keys = primaryKey.filter((k) => k !== cursorField);
  if (pk && keys.length > 0 && keys.every((k) => k in pk)) {
    return { values: [state.cursor, ...keys.map((k) => pk[k])], cursorOnly: false };
  }
  return { values: [state.cursor], cursorOnly: true };
}

export function planStreamRead(dialect: SqlDialect, spec: StreamReadSpec, opts: { state?: StreamState; batchSize: number }): ReadPlan {
  if (!Number.isSafeInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new SourceError(dialect.name, `batch size must be a positive integer`, { kind: 'config' });
  }
  const incremental = spec.syncMode === 'incremental';
  if (incremental && !spec.cursorField) {
    throw new SourceError(dialect.name, `stream ${spec.stream} is incremental but has no cursor field`, { kind: 'config' });
  }
  const cursorField = incremental ? spec.cursorField : undefined;
  const orderBy = unique([...(cursorField ? [cursorField] : []), ...spec.primaryKey]);
  const strategy = spec.primaryKey.length > 0 ? 'keyset' : 'single';
  return {
    dialect,
    spec,
    strategy,
    orderBy,
    cursorField,
    start: cursorField ? startFromState(cursorField, spec.primaryKey, opts.state) : undefined,
    helperColumns: dialect.keyText ? orderBy.map((_, i) => `${HELPER_PREFIX}${i}`) : [],
    batchSize: opts.batchSize,
  };
}

function selectList(plan: ReadPlan): string {
  const q = (c: string): string => plan.dialect.quoteIdent(c);
  const { fields, primaryKey } = plan.spec;
  const columns =
    fields.length === 0 ? ['t.*'] : unique([...primaryKey, ...(plan.cursorField ? [plan.cursorField] : []), ...fields]).map(q);
  const helpers = plan.helperColumns.map((alias, i) => `${plan.dialect.keyText?.(q(plan.orderBy[i] as string))} AS ${q(alias)}`);
  return [...columns, ...helpers].join(', ');
}

/** `(a, b) > (?, ?)` or, for dialects without row values, `a >= ? AND (a > ? OR (a = ? AND b > ?))`. */
export function keysetPredicate(dialect: SqlDialect, params: SqlParams, columns: string[], after: unknown[]): string {
  const cols = columns.map((c) => dialect.quoteIdent(c));
  if (cols.length === 1) return `${cols[0]} > ${params.add(after[0])}`;
  if (dialect.rowValueComparison) {
    return `(${cols.join(', ')}) > (${after.map((v) => params.add(v)).join(', ')})`;
  }
  const guard = `${cols[0]} >= ${params.add(after[0])}`; // added first: placeholders may be positional
  const branches = cols.map((col, i) => {
    const equal = cols.slice(0, i).map((c, j) => `${c} = ${params.add(after[j])}`);
    return `(${[...equal, `${col} > ${params.add(after[i])}`].join(' AND ')})`;
  });
  return `${guard} AND (${branches.join(' OR ')})`;
}

/**
 * The next query of a plan. For 'keyset', `after` is the position of the last row read (from
 * `positionOf`), undefined for the first page; for 'single' it is ignored.
 */
export function buildReadQuery(plan: ReadPlan, after?: unknown[]): SqlQuery {
  const { dialect } = plan;
  const params = new SqlParams(dialect);
  const where: string[] = [];
  if (plan.cursorField) where.push(`${dialect.quoteIdent(plan.cursorField)} IS NOT NULL`);
  const from = after ?? plan.start?.values;
  if (from) {
    const cursorOnly = after === undefined && (plan.start?.cursorOnly ?? false);
    const columns = cursorOnly || plan.strategy === 'single' ? plan.orderBy.slice(0, 1) : plan.orderBy;
    where.push(keysetPredicate(dialect, params, columns, from.slice(0, columns.length)));
  }
  const parts = [`SELECT ${selectList(plan)} FROM ${qualifiedName(dialect, plan.spec.table)} t`];
  if (where.length > 0) parts.push(`WHERE ${where.join(' AND ')}`);
  if (plan.orderBy.length > 0) parts.push(`ORDER BY ${plan.orderBy.map((c) => dialect.quoteIdent(c)).join(', ')}`);
  if (plan.strategy === 'keyset') parts.push(dialect.limit(params.add(plan.batchSize)));
  return { text: parts.join(' '), values: params.values };
}

/** The keyset position of a row: exact key text when the dialect provides it, else the JSON value. */
export function positionOf(plan: ReadPlan, row: Record<string, unknown>): unknown[] {
  if (plan.helperColumns.length > 0) return plan.helperColumns.map((alias) => row[alias]);
  return plan.orderBy.map((c) => toJsonValue(row[c]));
}

/** The checkpoint for an incremental stream after the row at `position`. */
export function stateAt(plan: ReadPlan, position: unknown[]): IncrementalState {
  if (!plan.cursorField) throw new Error('stateAt needs an incremental plan');
  const state: IncrementalState = { cursorField: plan.cursorField, cursor: position[0] ?? null };
  if (plan.strategy === 'keyset') {
    state.pk = Object.fromEntries(plan.spec.primaryKey.map((k) => [k, position[plan.orderBy.indexOf(k)] ?? null]));
  }
  return state;
}

/**
 * Targeted reads: `WHERE (k1 = ? AND k2 = ?) OR …` in chunks of `chunkSize` keys. A key's columns
 * come from the hint; a NULL value matches with IS NULL.
 */
export function buildKeyLookupQueries(
  dialect: SqlDialect,
  spec: StreamReadSpec,
  keys: Array<Record<string, unknown>>,
  chunkSize = 100,
): SqlQuery[] {
  const queries: SqlQuery[] = [];
  const plan = planStreamRead(dialect, { ...spec, syncMode: 'full' }, { batchSize: 1 });
  const select = selectList({ ...plan, helperColumns: [] });
  for (let i = 0; i < keys.length; i += chunkSize) {
    const params = new SqlParams(dialect);
    const chunk = keys.slice(i, i + chunkSize).filter((k) => Object.keys(k).length > 0);
    if (chunk.length === 0) continue;
    const ors = chunk.map((key) => {
      const ands = Object.entries(key).map(([col, value]) =>
        value === null || value === undefined
          ? `${dialect.quoteIdent(col)} IS NULL`
          : `${dialect.quoteIdent(col)} = ${params.add(value)}`,
      );
      return `(${ands.join(' AND ')})`;
    });
    queries.push({ text: `SELECT ${select} FROM ${qualifiedName(dialect, spec.table)} t WHERE ${ors.join(' OR ')}`, values: params.values });
  }
  return queries;
}
