import { describe, expect, it } from 'vitest';
import { errorChain, findNetworkError } from './error-chain.ts';
import { isSourceError } from './errors.ts';
import { withConnection } from './with-connection.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connection() {
  const state = { closed: 0 };
  return { state, close: async () => void (state.closed += 1) };
}

describe('withConnection', () => {
  it('closes the connection after the work', async () => {
    const conn = connection();
    const result = await withConnection({ source: 't', what: 'check', timeoutMs: 1000, connect: async () => conn, work: async () => 42 });
    expect(result).toBe(42);
    expect(conn.state.closed).toBe(1);
  });

  it('times out hung work and closes the connection', async () => {
    const conn = connection();
    const err = await withConnection({ source: 't', what: 'discover', timeoutMs: 50, connect: async () => conn, work: () => new Promise(() => undefined) }).catch((e: unknown) => e);
    expect(isSourceError(err) && err.kind).toBe('timeout');
    expect(conn.state.closed).toBe(1);
  });

  it('closes a connection that arrives after the budget ran out', async () => {
    const conn = connection();
    const err = await withConnection({ source: 't', what: 'check', timeoutMs: 20, connect: async () => (await delay(80), conn), work: async () => 1 }).catch((e: unknown) => e);
    expect(isSourceError(err) && err.kind).toBe('timeout');
    await delay(120);
    expect(conn.state.closed).toBe(1);
  });
});

describe('error chains', () => {
  it('finds the errno inside causes and AggregateErrors, keeping the outer error as cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1433'), { code: 'ECONNREFUSED' });
    const outer = new Error('Failed to connect to 127.0.0.1:1433', { cause: new AggregateError([refused], 'Could not connect (sequence)') });
    expect(errorChain(outer)).toContain(refused);
    const found = findNetworkError('sqlserver', outer, '127.0.0.1:1433');
    expect(found?.kind).toBe('unreachable');
    expect(found?.cause).toBe(outer);
    expect(found?.message).toBe('sqlserver: cannot connect to 127.0.0.1:1433 (ECONNREFUSED)');
    expect(findNetworkError('x', new Error('no code here'), 'h')).toBeUndefined();
  });
});
