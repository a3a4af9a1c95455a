/**
 * The generic REST connector against the tests' own JSON API (test/fakes/rest-api.ts) on
 * 127.0.0.1: 5,000 records through every paging strategy while the API throttles (429 with
 * reset headers or Retry-After, its window really closed until then), incremental reads,
 * discovery by sampling, auth variants, and config mistakes reported clearly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { startRestApi, type RestApi, type RestApiOptions, type ThrottleStyle } from '../../test/fakes/rest-api.ts';
import type { ConfiguredStream, ReadMessage } from '../sdk/types.ts';
import connector, { parseRestConfig } from './index.ts';

let api: RestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function startApi(opts: RestApiOptions = {}): Promise<RestApi> {
  api = await startRestApi(opts);
  return api;
}

type StreamConfig = Record<string, unknown>;
const config = (a: RestApi, stream: StreamConfig, over: Record<string, unknown> = {}) => ({ baseUrl: a.url, streams: [{ name: 'users', ...stream }], ...over });
const configured = (over: Partial<ConfiguredStream> = {}): ConfiguredStream => ({ name: 'users', fields: [], primaryKey: ['id'], syncMode: 'full', ...over });
const read = (cfg: unknown, stream: ConfiguredStream = configured(), state: Record<string, Record<string, unknown>> = {}) =>
  collect(connector.read(cfg as never, { streams: [stream] }, testReadContext({ state })));
const waits = (messages: ReadMessage[]) => messages.filter((m): m is Extract<ReadMessage, { type: 'rate_limited' }> => m.type === 'rate_limited');

const STRATEGIES: Array<[string, StreamConfig, ThrottleStyle]> = [
  ['link header', { path: '/users/link', recordSelector: '$', paging: { type: 'link_header', pageSize: 250, pageSizeParam: 'per_page' } }, 'reset_epoch'],
  ['body cursor', { path: '/users/cursor', recordSelector: '$.data', paging: { type: 'body_cursor', pageSize: 250, pageSizeParam: 'limit', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor' } }, 'reset_delta'],
  ['offset / limit', { path: '/users/offset', recordSelector: '$.items', paging: { type: 'offset', pageSize: 250, totalPath: '$.total' } }, 'retry_after'],
  ['page number', { path: '/users/pages', recordSelector: '$.results[*]', paging: { type: 'page_number', pageSize: 250, pageParam: 'page', sizeParam: 'size', startPage: 1 } }, 'reset_epoch'],
  ['next URL in body', { path: '/users/next', recordSelector: 'records', paging: { type: 'next_url', pageSize: 250, pageSizeParam: 'limit', nextUrlPath: '$.next' } }, 'retry_after_date'],
  ['checkpoint', { path: '/users/checkpoint', recordSelector: '$.users', paging: { type: 'checkpoint', pageSize: 250 } }, 'reset_epoch'],
];

describe('rest read: 5,000 records through each paging strategy while throttled', () => {
  it.each(STRATEGIES)('%s: every record exactly once, waiting as the 429s say', async (_name, stream, style) => {
    const a = await startApi({ users: 5000, throttle: { every: 9, style } });
    const messages = await read(config(a, stream));
    const ids = recordsOf(messages, 'users').map((r) => r.id as number);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(5000);
    // throttled for real, and never retried before the window reopened
    expect(a.throttled).toBeGreaterThanOrEqual(2);
    expect(a.early).toBe(0);
    expect(waits(messages)).toHaveLength(a.throttled);
    expect(waits(messages).every((w) => w.reason.includes('answered 429'))).toBe(true);
    expect(messages[0]).toEqual({ type: 'stream_status', stream: 'users', status: 'started' });
    expect(messages.at(-1)).toEqual({ type: 'stream_status', stream: 'users', status: 'complete' });
  });
});

describe('rest incremental', () => {
  const stream = {
    path: '/users/cursor',
    recordSelector: '$.data',
    paging: { type: 'body_cursor', pageSize: 500, pageSizeParam: 'limit', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor' },
    incremental: { cursorField: 'updated_at', requestParam: 'updated_since' },
  };

  it('a second run reads only what changed since the saved cursor', async () => {
    const a = await startApi({ users: 5000 });
    const cfg = config(a, stream);
    const first = await read(cfg, configured({ syncMode: 'incremental', cursorField: 'updated_at' }));
    expect(recordsOf(first)).toHaveLength(5000);
    const maxBefore = a.users.map((u) => u.updated_at).sort().at(-1)!;
    const [state] = statesOf(first, 'users');
    expect(state).toEqual({ cursorField: 'updated_at', cursor: maxBefore });

    a.touch([17, 2500, 4999], '2026-06-01T12:00:00.000Z');
    const requestsBefore = a.requests.length;
    const second = await read(cfg, configured({ syncMode: 'incremental', cursorField: 'updated_at' }), { users: state! });
    const ids = recordsOf(second).map((r) => r.id as number).sort((x, y) => x - y);
    // the changes, plus the records still at the old cursor value (an inclusive `since`)
    const atBoundary = a.users.filter((u) => u.updated_at === maxBefore).map((u) => u.id);
    expect(ids).toEqual([17, 2500, 4999, ...atBoundary].sort((x, y) => x - y));
    expect(a.requests[requestsBefore]!.url.searchParams.get('updated_since')).toBe(maxBefore);
    expect(statesOf(second, 'users')).toEqual([{ cursorField: 'updated_at', cursor: '2026-06-01T12:00:00.000Z' }]);

    // nothing changed: only the boundary again, and the cursor stays
    const third = await read(cfg, configured({ syncMode: 'incremental', cursorField: 'updated_at' }), { users: statesOf(second, 'users')[0]! });
    expect(recordsOf(third).map((r) => r.id).sort()).toEqual([17, 2500, 4999].sort());
    expect(statesOf(third, 'users')[0]!.cursor).toBe('2026-06-01T12:00:00.000Z');
  });

  it('full mode ignores the saved cursor', async () => {
    const a = await startApi({ users: 300 });
    const messages = await read(config(a, stream), configured({ syncMode: 'full' }), { users: { cursorField: 'updated_at', cursor: '2030-01-01T00:00:00Z' } });
    expect(recordsOf(messages)).toHaveLength(300);
    expect(a.requests.every((r) => !r.url.searchParams.has('updated_since'))).toBe(true);
  });
});

describe('rest discover', () => {
  it('infers fields from sampled records, with the key and the incremental cursor', async () => {
    const a = await startApi({ users: 1000 });
    const cfg = config(a, {
      path: '/users/offset',
      recordSelector: '$.items',
      paging: { type: 'offset', pageSize: 50 },
      incremental: { cursorField: 'updated_at', requestParam: 'updated_since' },
    }, { sampleSize: 120 });
    const { streams } = await connector.discover(cfg as never, testContext());
    expect(streams).toHaveLength(1);
    const s = streams[0]!;
    expect(s).toMatchObject({ name: 'users', kind: 'endpoint', primaryKey: ['id'], cursorCandidates: ['updated_at'], supportedSyncModes: ['full', 'incremental'] });
    const byName = Object.fromEntries(s.fields.map((f) => [f.name, f]));
    expect(Object.keys(byName)).toEqual(['id', 'email', 'name', 'department', 'active', 'salary', 'updated_at', 'address', 'address.city', 'address.country', 'tags']);
    expect(byName.id).toMatchObject({ type: 'integer', nullable: false, frequency: 1 });
    expect(byName.updated_at).toMatchObject({ type: 'datetime', sourceType: 'string(date-time)' });
    expect(byName.active!.type).toBe('boolean');
    expect(byName.tags!.type).toBe('array');
    expect(byName['address.city']!.type).toBe('string');
    expect(byName.email!.suggestedSensitivity).toBe('confidential');
    expect(byName.salary!.suggestedSensitivity).toBe('confidential');
    // sampling stops once it has enough: 3 pages of 50 for 120 records
    expect(a.requests).toHaveLength(3);
  });

  it('reads the selected fields (dot paths for nested ones), keeping the key', async () => {
    const a = await startApi({ users: 10 });
    const messages = await read(config(a, { path: '/users/offset', recordSelector: '$.items', paging: { type: 'offset', pageSize: 5 } }), configured({ fields: ['email', 'address.city'] }));
    expect(recordsOf(messages)[0]).toEqual({ id: 1, email: 'user1@example.com', 'address.city': 'Lyon' });
  });

  it('names a primary key the records do not have', async () => {
    const a = await startApi({ users: 10 });
    await expect(connector.discover(config(a, { path: '/users/offset', recordSelector: '$.items', primaryKey: ['uid'] }) as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('stream users: the sampled records have no field uid'),
    });
  });
});

describe('rest auth and check', () => {
  const stream = { path: '/users/link', paging: { type: 'link_header', pageSize: 10, pageSizeParam: 'per_page' } };
  const variants: Array<[string, RestApiOptions['auth'], Record<string, unknown>, Record<string, unknown>]> = [
    ['API key in a header', { type: 'api_key', in: 'header', name: 'X-API-Key', value: 'key-123456' }, { authType: 'api_key', apiKeyName: 'X-API-Key', apiKey: 'key-123456' }, { apiKey: 'wrong-key-999' }],
    ['API key in the query', { type: 'api_key', in: 'query', name: 'api_key', value: 'key-654321' }, { authType: 'api_key', apiKeyIn: 'query', apiKeyName: 'api_key', apiKey: 'key-654321' }, { apiKey: 'wrong-key-999' }],
    ['basic', { type: 'basic', username: 'svc', password: 'pw-123456' }, { authType: 'basic', username: 'svc', password: 'pw-123456' }, { password: 'wrong-pw-999' }],
    ['bearer', { type: 'bearer', token: 'tok-123456' }, { authType: 'bearer', bearerToken: 'tok-123456' }, { bearerToken: 'wrong-tok-999' }],
  ];

  it.each(variants)('%s: check passes with the right credentials and names the 401 without the secret otherwise', async (_name, auth, good, bad) => {
    const a = await startApi({ users: 25, auth });
    const details = await connector.check(config(a, stream, good) as never, testContext());
    expect(details).toEqual({ baseUrl: a.url, stream: 'users', recordsOnFirstPage: 10 });
    const err = await connector.check(config(a, stream, { ...good, ...bad }) as never, testContext()).then(() => new Error('no failure'), (e: Error) => e);
    expect(err).toMatchObject({ kind: 'auth' });
    expect(err.message).toBe('rest: GET /users/link answered 401 unauthorized: Bad credentials');
    expect(err.message).not.toContain(Object.values(bad)[0] as string);
  });

  it('OAuth2 client credentials: one token for the whole read; a wrong secret is an auth error naming invalid_client', async () => {
    const a = await startApi({ users: 600, auth: { type: 'oauth2', clientId: 'pip', clientSecret: 'cs-123456', scope: 'users.read' } });
    const good = { authType: 'client_credentials', tokenUrl: `${a.url}/oauth/token`, clientId: 'pip', clientSecret: 'cs-123456', scopes: 'users.read' };
    const messages = await read(config(a, { ...stream, paging: { type: 'link_header', pageSize: 100, pageSizeParam: 'per_page' } }, good));
    expect(recordsOf(messages)).toHaveLength(600);
    expect(a.tokensIssued).toBe(1);
    await expect(connector.check(config(a, stream, { ...good, clientSecret: 'nope-nope' }) as never, testContext())).rejects.toMatchObject({
      kind: 'auth',
      message: 'rest: POST /oauth/token answered 401 invalid_client: Client authentication failed. (token request)',
    });
  });

  it('check goes through the network guard', async () => {
    const a = await startApi({ users: 5 });
    await expect(connector.check(config(a, stream) as never, testContext({ guard: { allowLoopback: false } }))).rejects.toMatchObject({ kind: 'blocked' });
    expect(a.requests).toHaveLength(0);
  });

  it('targets are the base URL host and the token URL host', () => {
    const cfg = { baseUrl: 'https://api.example.com/v2', authType: 'client_credentials', tokenUrl: 'https://login.example.net/oauth/token', streams: [{ name: 'u', path: '/u' }] };
    expect(connector.targets(cfg as never)).toEqual(['api.example.com', 'login.example.net']);
  });
});

describe('rest config mistakes', () => {
  it('a paging strategy without its parameters names the missing one', async () => {
    const a = await startApi({ users: 5 });
    await expect(connector.check(config(a, { path: '/users/cursor', paging: { type: 'body_cursor' } }) as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: 'rest: stream users: paging body_cursor needs paging.cursorPath',
    });
  });

  it('an auth type without its secret names the field', () => {
    expect(() => parseRestConfig({ baseUrl: 'https://x.example', authType: 'bearer', streams: [{ name: 'u', path: '/u' }] })).not.toThrow();
    return expect(connector.check({ baseUrl: 'https://x.example', authType: 'bearer', streams: [{ name: 'u', path: '/u' }] } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: 'rest: authentication bearer needs bearerToken',
    });
  });

  it('an unknown path is a config error with the provider message', async () => {
    const a = await startApi({ users: 5 });
    await expect(connector.check(config(a, { path: '/nope' }) as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: 'rest: GET /nope answered 404 not_found: no route GET /nope',
    });
  });

  it('invalid config is refused before any call', () => {
    expect(() => parseRestConfig({ baseUrl: 'ftp://x', streams: [] })).toThrow(expect.objectContaining({ kind: 'config' }));
  });
});
