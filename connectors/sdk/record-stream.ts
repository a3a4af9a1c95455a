/**
 * Reading one stream of JSON records page by page into read messages, the same way for every API
 * source: `started`, the records (projected to the selected fields, key and cursor always kept),
 * rate-limit waits between pages, the cursor state for incremental reads, `complete`.
 * Memory stays at one page.
 */
import { throwIfAborted, record, stateMessage, streamStatus } from './read-helpers.ts';
import { valueAtDotPath } from './http/json-path.ts';
import type { RateLimitEvents } from './http/rate-limit-events.ts';
import type { ConfiguredStream, ReadMessage, StreamState } from './types.ts';

const ISO_LIKE = /^\d{4}-\d\d-\d\d/;

/** Orders cursor values: numbers numerically, ISO timestamps by instant, anything else as text. */
export function compareCursorValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  if (ISO_LIKE.test(sa) && ISO_LIKE.test(sb)) {
    const ta = Date.parse(sa);
    const tb = Date.parse(sb);
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta - tb;
  }
  if (/^-?\d+(\.\d+)?$/.test(sa) && /^-?\d+(\.\d+)?$/.test(sb)) return Number(sa) - Number(sb);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** The record for the selected dot-notation fields (all of it when none are selected). */
export function projectRecord(data: Record<string, unknown>, fields: string[], always: string[] = []): Record<string, unknown> {
  if (fields.length === 0) return data;
  const out: Record<string, unknown> = {};
  for (const path of new Set([...always, ...fields])) {
    const value = valueAtDotPath(data, path);
    if (value !== undefined) out[path] = value;
  }
  return out;
}

/** Records already at hand (metadata built from a document) as pages for `readRecordPages`. */
export async function* pagesOf<T>(records: Iterable<T>, size = 500): AsyncGenerator<T[]> {
  let page: T[] = [];
  for (const r of records) {
    page.push(r);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
}

export interface CursorStateValue extends StreamState {
  cursorField: string;
  cursor: unknown;
}

/** The cursor to resume from, when the state belongs to the same cursor field. */
export function cursorFromState(state: StreamState | undefined, cursorField: string): unknown {
  if (!state || state.cursorField !== cursorField || state.cursor === null || state.cursor === undefined) return undefined;
  return state.cursor;
}

export interface RecordPagesOptions {
  source: string;
  stream: ConfiguredStream;
  pages: AsyncIterable<Array<Record<string, unknown>>>;
  events?: RateLimitEvents;
  signal?: AbortSignal;
  /** incremental: keep the highest value of `field`; records below `start` are skipped */
  cursor?: { field: string; start?: unknown };
  /** more state to save at the end (e.g. a delta link) */
  finalState?: () => StreamState | undefined;
}

export async function* readRecordPages(opts: RecordPagesOptions): AsyncGenerator<ReadMessage> {
  const { stream, cursor } = opts;
  const always = [...stream.primaryKey, ...(cursor ? [cursor.field] : [])];
  let max = cursor?.start;
  yield streamStatus(stream.name, 'started');
  for await (const page of opts.pages) {
    throwIfAborted(opts.signal, opts.source);
    if (opts.events) yield* opts.events.drain();
    for (const data of page) {
      if (data === null || typeof data !== 'object') continue;
      if (cursor) {
        const value = valueAtDotPath(data, cursor.field);
        if (value !== undefined && value !== null) {
          // an API that ignores the cursor parameter still yields only changes
          if (cursor.start !== undefined && compareCursorValues(value, cursor.start) < 0) continue;
          if (max === undefined || compareCursorValues(value, max) > 0) max = value;
        }
      }
      yield record(stream.name, projectRecord(data, stream.fields, always));
    }
  }
  if (opts.events) yield* opts.events.drain();
  const extra = opts.finalState?.();
  if (cursor || extra) yield stateMessage(stream.name, { ...(cursor ? { cursorField: cursor.field, cursor: max ?? null } : {}), ...extra });
  yield streamStatus(stream.name, 'complete');
}
