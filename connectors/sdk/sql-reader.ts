/**
 * The streaming reader every SQL connector uses: configured streams (or targeted hints) → messages.
 * Memory stays bounded by the batch size: keyset pages are fetched one at a time and keyless
 * streams go through the session's server-side cursor.
 */
import { SourceError, isSourceError } from './errors.ts';
import { cancelledError, logMessage, record, stateMessage, streamStatus, toJsonRow } from './read-helpers.ts';
import { resolveStreamTable } from './sql-catalog.ts';
import type { SqlDialect, SqlQuery } from './sql-dialect.ts';
import { buildKeyLookupQueries, buildReadQuery, planStreamRead, positionOf, stateAt, type ReadPlan, type StreamReadSpec } from './sql-plan.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadContext, ReadMessage } from './types.ts';

/** The one seam between the reader and a driver (pool, connection or transaction). */
export interface SqlSession {
  /** runs a query and returns its (bounded) rows */
  query(query: SqlQuery): Promise<Array<Record<string, unknown>>>;
  /** runs one query and yields its rows in batches of at most `batchSize`, never buffering the result */
  stream(query: SqlQuery, batchSize: number): AsyncIterable<Array<Record<string, unknown>>>;
}

export interface SqlReadOptions {
  source: string;
  dialect: SqlDialect;
  session: SqlSession;
  catalog: ConfiguredCatalog;
  ctx: ReadContext;
  /** namespace of streams named without a prefix (see streamName) */
  defaultNamespace?: string;
  defaultBatchSize?: number;
}

export const DEFAULT_SQL_BATCH_SIZE = 1000;

export function toReadSpec(stream: ConfiguredStream, defaultNamespace?: string): StreamReadSpec {
  return {
    stream: stream.name,
    table: resolveStreamTable(stream, defaultNamespace),
    fields: stream.fields,
    primaryKey: stream.primaryKey,
    syncMode: stream.syncMode,
    cursorField: stream.cursorField,
  };
}

function checkSignal(opts: SqlReadOptions): void {
  if (opts.ctx.signal.aborted) throw cancelledError(opts.source, opts.ctx.signal);
}

async function* readKeyset(plan: ReadPlan, opts: SqlReadOptions): AsyncGenerator<ReadMessage> {
  const omit = new Set(plan.helperColumns);
  let after: unknown[] | undefined;
  for (;;) {
    checkSignal(opts);
    const rows = await opts.session.query(buildReadQuery(plan, after));
    for (const row of rows) {
      checkSignal(opts);
      yield record(plan.spec.stream, toJsonRow(row, omit));
    }
    const last = rows[rows.length - 1];
    if (!last) return;
    after = positionOf(plan, last);
    if (plan.cursorField) yield stateMessage(plan.spec.stream, stateAt(plan, after));
    if (rows.length < plan.batchSize) return;
  }
}

async function* readSingle(plan: ReadPlan, opts: SqlReadOptions): AsyncGenerator<ReadMessage> {
  const omit = new Set(plan.helperColumns);
  let last: Record<string, unknown> | undefined;
  for await (const rows of opts.session.stream(buildReadQuery(plan), plan.batchSize)) {
    for (const row of rows) {
      checkSignal(opts);
      yield record(plan.spec.stream, toJsonRow(row, omit));
    }
    last = rows[rows.length - 1] ?? last;
  }
  if (plan.cursorField && last) yield stateMessage(plan.spec.stream, stateAt(plan, positionOf(plan, last)));
}

async function* readHints(opts: SqlReadOptions, batchSize: number): AsyncGenerator<ReadMessage> {
  for (const hint of opts.ctx.hints ?? []) {
    const configured = opts.catalog.streams.find((s) => s.name === hint.stream);
    if (!configured) {
      yield logMessage('warn', `targeted read for stream ${hint.stream} skipped: the stream is not configured`);
      continue;
    }
    const spec = toReadSpec(configured, opts.defaultNamespace);
    yield streamStatus(spec.stream, 'started');
    for (const query of buildKeyLookupQueries(opts.dialect, spec, hint.keys, Math.min(batchSize, 100))) {
      checkSignal(opts);
      for (const row of await opts.session.query(query)) yield record(spec.stream, toJsonRow(row));
    }
    yield streamStatus(spec.stream, 'complete');
  }
}

/** Adds the stream name to driver errors that are not SourceErrors yet (they keep their cause). */
function withStream(err: unknown, source: string, stream: string): unknown {
  if (isSourceError(err)) return err;
  return new SourceError(source, `reading stream ${stream} failed`, { kind: 'protocol', cause: err });
}

export async function* readSqlStreams(opts: SqlReadOptions): AsyncGenerator<ReadMessage> {
  const batchSize = opts.ctx.batchSize ?? opts.defaultBatchSize ?? DEFAULT_SQL_BATCH_SIZE;
  checkSignal(opts);
  if (opts.ctx.hints) {
    yield* readHints(opts, batchSize);
    return;
  }
  for (const configured of opts.catalog.streams) {
    const spec = toReadSpec(configured, opts.defaultNamespace);
    const plan = planStreamRead(opts.dialect, spec, { state: opts.ctx.state[spec.stream], batchSize });
    yield streamStatus(spec.stream, 'started');
    try {
      yield* plan.strategy === 'keyset' ? readKeyset(plan, opts) : readSingle(plan, opts);
    } catch (err) {
      throw withStream(err, opts.source, spec.stream);
    }
    yield streamStatus(spec.stream, 'complete');
  }
}
