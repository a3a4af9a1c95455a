import { describe, expect, it } from 'vitest';
import { collect } from '../../test/fakes/connector-context.ts';
import { RateLimitEvents } from './http/rate-limit-events.ts';
import { compareCursorValues, cursorFromState, pagesOf, projectRecord, readRecordPages } from './record-stream.ts';

describe('record streams', () => {
  it('orders cursor values: numbers, ISO instants across offsets, numeric strings, text', () => {
    expect(compareCursorValues(2, 10)).toBeLessThan(0);
    expect(compareCursorValues('2026-01-01T10:00:00+02:00', '2026-01-01T09:00:00Z')).toBeLessThan(0);
    expect(compareCursorValues('2026-01-02', '2026-01-01T23:59:59Z')).toBeGreaterThan(0);
    expect(compareCursorValues('9', '10')).toBeLessThan(0);
    expect(compareCursorValues('b', 'a')).toBeGreaterThan(0);
    expect(compareCursorValues('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).toBe(0);
  });

  it('projects selected dot paths and always keeps key and cursor', () => {
    const r = { id: 1, a: { b: 2, c: 3 }, updated: 'x', other: true };
    expect(projectRecord(r, ['a.b'], ['id', 'updated'])).toEqual({ id: 1, updated: 'x', 'a.b': 2 });
    expect(projectRecord(r, [])).toBe(r);
  });

  it('reads pages into messages: waits between pages, skips records older than the cursor, saves the highest', async () => {
    const events = new RateLimitEvents();
    async function* pages() {
      events.onRateLimited(100, 'first wait');
      yield [{ id: 1, t: 5 }, { id: 2, t: 3 }];
      events.onRateLimited(50, 'second wait');
      yield [{ id: 3, t: 9 }, { id: 4, t: 4 }];
    }
    const messages = await collect(
      readRecordPages({ source: 't', stream: { name: 's', fields: [], primaryKey: ['id'], syncMode: 'incremental' }, pages: pages(), events, cursor: { field: 't', start: 4 } }),
    );
    expect(messages).toEqual([
      { type: 'stream_status', stream: 's', status: 'started' },
      { type: 'rate_limited', waitMs: 100, reason: 'first wait' },
      { type: 'record', stream: 's', data: { id: 1, t: 5 } },
      { type: 'rate_limited', waitMs: 50, reason: 'second wait' },
      { type: 'record', stream: 's', data: { id: 3, t: 9 } },
      { type: 'record', stream: 's', data: { id: 4, t: 4 } },
      { type: 'state', stream: 's', state: { cursorField: 't', cursor: 9 } },
      { type: 'stream_status', stream: 's', status: 'complete' },
    ]);
  });

  it('resumes only from state of the same cursor field', () => {
    expect(cursorFromState({ cursorField: 'updated_at', cursor: 'x' }, 'updated_at')).toBe('x');
    expect(cursorFromState({ cursorField: 'created_at', cursor: 'x' }, 'updated_at')).toBeUndefined();
    expect(cursorFromState(undefined, 'updated_at')).toBeUndefined();
  });

  it('pagesOf splits records into bounded pages', async () => {
    const sizes: number[] = [];
    for await (const p of pagesOf(Array.from({ length: 1201 }, (_, i) => i), 500)) sizes.push(p.length);
    expect(sizes).toEqual([500, 500, 201]);
  });
});
