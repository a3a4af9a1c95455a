import { describe, expect, it } from 'vitest';
import { SourceError } from './errors.ts';
import { record, stateMessage, streamStatus, throwIfAborted, toJsonRow, toJsonValue, withTimeout } from './read-helpers.ts';

describe('toJsonValue', () => {
  it('makes driver values JSON-exact', () => {
    expect(toJsonValue(new Date('2024-03-01T10:20:30.456Z'))).toBe('2024-03-01T10:20:30.456Z');
    expect(toJsonValue(new Date('not a date'))).toBeNull();
    expect(toJsonValue(42n)).toBe(42);
    expect(toJsonValue(9007199254740993n)).toBe('9007199254740993');
    expect(toJsonValue(-9007199254740993n)).toBe('-9007199254740993');
    expect(toJsonValue(Buffer.from('hi there'))).toBe('aGkgdGhlcmU=');
    expect(toJsonValue(new Uint8Array([1, 2, 3]))).toBe('AQID');
    expect(toJsonValue(Number.NaN)).toBeNull();
    expect(toJsonValue(Number.POSITIVE_INFINITY)).toBeNull();
    expect(toJsonValue(undefined)).toBeNull();
    expect(toJsonValue({ a: [1n, new Date(0)], b: { c: Number.NEGATIVE_INFINITY } })).toEqual({
      a: [1, '1970-01-01T00:00:00.000Z'],
      b: { c: null },
    });
  });

  it('converts rows and drops helper columns', () => {
    expect(toJsonRow({ id: 1n, __pip_k0: '1' }, new Set(['__pip_k0']))).toEqual({ id: 1 });
  });
});

describe('messages', () => {
  it('builds the contract shapes', () => {
    expect(record('users', { id: 1 })).toEqual({ type: 'record', stream: 'users', data: { id: 1 } });
    expect(stateMessage('users', { cursor: 'x' })).toEqual({ type: 'state', stream: 'users', state: { cursor: 'x' } });
    expect(streamStatus('users', 'complete')).toEqual({ type: 'stream_status', stream: 'users', status: 'complete' });
  });
});

describe('withTimeout', () => {
  it('returns the value when in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'pg')).resolves.toBe(7);
  });

  it('throws a timeout SourceError when late', async () => {
    const late = new Promise((resolve) => setTimeout(resolve, 200));
    const err = await withTimeout(late, 10, 'postgresql', 'check').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).kind).toBe('timeout');
    expect((err as SourceError).message).toBe('postgresql: check did not finish within 10 ms');
  });
});

describe('throwIfAborted', () => {
  it('throws a cancelled SourceError only once aborted', () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal, 'mysql')).not.toThrow();
    ac.abort();
    expect(() => throwIfAborted(ac.signal, 'mysql')).toThrow(expect.objectContaining({ kind: 'cancelled' }));
  });
});
