/** Opaque cursors for list routes: base64url JSON of the last row's sort key. */
import { Type, type Static } from 'typebox';
import { PipError } from '../errors.ts';

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'page size (1-500)' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor from the previous page' })),
});
export type PageQuery = Static<typeof PageQuery>;

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: any) => boolean): T | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(v)) return v as T;
  } catch {
    /* fall through */
  }
  throw new PipError('PIP_INVALID_CURSOR', 400, 'cursor is invalid: pass next_cursor from a previous page unchanged');
}

/** fetch limit+1 rows, return a page and the cursor of its last row when there is more */
export function toPage<R, O>(rows: R[], limit: number, view: (r: R) => O, cursorOf: (r: R) => unknown): { items: O[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { items: page.map(view), next_cursor: more ? encodeCursor(cursorOf(page[page.length - 1]!)) : null };
}

/**
 * Cursors on (created_at, id): created_at travels with microsecond precision (PostgreSQL's own),
 * since a value rounded to milliseconds would put the last row of a page on the next page too.
 */
export const exactTimestampSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
export interface TimeCursor {
  at: string;
  id: string;
}
const CURSOR_AT_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function decodeTimeCursor(cursor: string | undefined): TimeCursor | undefined {
  return decodeCursor<TimeCursor>(cursor, (v) => typeof v?.at === 'string' && CURSOR_AT_RE.test(v.at) && typeof v?.id === 'string' && UUID_RE.test(v.id));
}
/** the cursor of a row selected with `exactTimestampSql('created_at') as cursor_at` */
export const timeCursorOf = (r: { cursor_at?: string; created_at: Date; id: string }): TimeCursor => ({ at: r.cursor_at ?? new Date(r.created_at).toISOString(), id: r.id });
