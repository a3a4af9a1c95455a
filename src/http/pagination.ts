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
