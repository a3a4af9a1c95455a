import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mapDriverError, redact } from './driver-errors.ts';
import { SourceError } from './errors.ts';
import { createNetworkGuard } from './network-guard.ts';
import { sqlTlsOptions } from './sql-config.ts';
import { streamWithSqlClient, withSqlClient, type SqlClient, type SqlClientFactory } from './sql-connection.ts';
import { sqlTimestampToIso } from './sql-dialect.ts';
import type { ConnectorContext } from './types.ts';

function fakeFactory(work: { closed: number; opened: number }): SqlClientFactory<{ host: string }, SqlClient> {
  return {
    source: 'fake',
    host: (c) => c.host,
    open() {
      work.opened += 1;
      return {
        query: async () => [],
        stream: async function* () {},
        toSourceError: (err) => (err instanceof SourceError ? err : new SourceError('fake', 'wrapped', { kind: 'protocol', cause: err })),
        close: async () => {
          work.closed += 1;
        },
      };
    },
  };
}
const ctx = (timeoutMs = 1000): ConnectorContext => ({
  signal: new AbortController().signal,
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  networkGuard: createNetworkGuard(),
  timeoutMs,
});

describe('withSqlClient', () => {
  it('asks the network guard before opening anything', async () => {
    const work = { opened: 0, closed: 0 };
    await expect(withSqlClient(fakeFactory(work), { host: '169.254.169.254' }, ctx(), 'check', async () => 1)).rejects.toMatchObject({ kind: 'blocked' });
    const reading = streamWithSqlClient(fakeFactory(work), { host: 'fd00:ec2::254' }, ctx(), async function* () {});
    await expect(reading.next()).rejects.toMatchObject({ kind: 'blocked' });
    expect(work.opened).toBe(0);
  });

  it('closes the client after success, failure and timeout', async () => {
    const work = { opened: 0, closed: 0 };
    await expect(withSqlClient(fakeFactory(work), { host: '127.0.0.1' }, ctx(), 'check', async () => 42)).resolves.toBe(42);
    await expect(withSqlClient(fakeFactory(work), { host: '127.0.0.1' }, ctx(), 'check', async () => Promise.reject(new Error('boom')))).rejects.toMatchObject({ kind: 'protocol' });
    const slow = () => new Promise((r) => setTimeout(r, 200));
    await expect(withSqlClient(fakeFactory(work), { host: '127.0.0.1' }, ctx(20), 'discover', slow)).rejects.toMatchObject({ kind: 'timeout' });
    const ac = new AbortController();
    const cancelled = withSqlClient(fakeFactory(work), { host: '127.0.0.1' }, { ...ctx(), signal: ac.signal }, 'discover', slow);
    setTimeout(() => ac.abort(), 10);
    await expect(cancelled).rejects.toMatchObject({ kind: 'cancelled' });
    expect(work).toEqual({ opened: 4, closed: 4 });
  });
});

describe('mapDriverError', () => {
  const secret = 'hunter2-very-secret';
  const classify = (e: { code?: string }) => (e.code === 'AUTH' ? ('auth' as const) : undefined);

  it('scrubs secrets from messages and drops a cause that carries one', () => {
    const err = mapDriverError('db', Object.assign(new Error(`bad login with ${secret}`), { code: 'AUTH' }), { target: 'h:1', secrets: [secret], classify, action: 'connect' });
    expect(err).toMatchObject({ kind: 'auth', detail: { code: 'AUTH' } });
    expect(err.message).toBe('db: connect on h:1 failed: bad login with [redacted] (AUTH)');
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
    expect(redact('a hunter2-very-secret b', [undefined, '', secret])).toBe('a [redacted] b');
  });

  it('falls back to network errno codes, then to timeout / protocol', () => {
    const opts = { target: 'h:1', secrets: [], classify };
    expect(mapDriverError('db', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), opts).kind).toBe('unreachable');
    expect(mapDriverError('db', Object.assign(new Error('x'), { code: 'ENOTFOUND' }), opts).kind).toBe('dns');
    expect(mapDriverError('db', new Error('Connection terminated due to connection timeout'), opts).kind).toBe('timeout');
    expect(mapDriverError('db', new Error('something odd'), opts).kind).toBe('protocol');
  });
});

describe('sqlTlsOptions', () => {
  it('maps the three modes to Node TLS options', () => {
    expect(sqlTlsOptions({ host: 'db.example.com', tlsMode: 'disable' })).toBeUndefined();
    expect(sqlTlsOptions({ host: 'db.example.com', tlsMode: 'require' })).toEqual({ rejectUnauthorized: false, servername: 'db.example.com' });
    expect(sqlTlsOptions({ host: '10.0.0.5', tlsMode: 'verify-full', tlsCaCertificate: 'CA', tlsClientCertificate: 'CERT', tlsClientKey: 'KEY', tlsServerName: 'db.internal' })).toEqual({
      rejectUnauthorized: true, ca: 'CA', cert: 'CERT', key: 'KEY', servername: 'db.internal',
    });
    expect(sqlTlsOptions({ host: '10.0.0.5', tlsMode: 'verify-full' })).toEqual({ rejectUnauthorized: true });
  });
});

describe('sqlTimestampToIso', () => {
  it('keeps every fractional digit and the offset', () => {
    expect(sqlTimestampToIso('2024-03-01 10:20:30.123456+00')).toBe('2024-03-01T10:20:30.123456Z');
    expect(sqlTimestampToIso('2024-03-01 10:20:30')).toBe('2024-03-01T10:20:30Z');
    expect(sqlTimestampToIso('2024-03-01 10:20:30.5+05:30')).toBe('2024-03-01T10:20:30.5+05:30');
    expect(sqlTimestampToIso('2024-03-01 10:20:30-08')).toBe('2024-03-01T10:20:30-08:00');
    expect(sqlTimestampToIso('0000-00-00 00:00:00')).toBeNull();
    expect(sqlTimestampToIso('infinity')).toBe('infinity');
  });
});
