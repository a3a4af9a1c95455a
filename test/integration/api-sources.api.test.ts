/**
 * An API source end to end through the service: a `rest` connection to the tests' own JSON API
 * (bearer token, cursor paging, throttling with reset headers) is created, tested, discovered,
 * mapped and synced by the worker; the records table holds exactly the mapped records, and an
 * incremental sync rewrites only what changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { BACKENDS } from '../helpers/env.ts';
import { syncAndWait } from '../helpers/sync.ts';
import { startRestApi, type RestApi } from '../fakes/rest-api.ts';

const TOKEN = 'rest-e2e-token-7f3a91';

describe.each(BACKENDS)('rest API source through the service on %s', (backend) => {
  let t: TestApp;
  let api: RestApi;
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });

  beforeAll(async () => {
    api = await startRestApi({ users: 1200, auth: { type: 'bearer', token: TOKEN }, throttle: { every: 5, style: 'reset_epoch' } });
    t = await startTestApp(backend, {}, { worker: true });
  });
  afterAll(async () => {
    await t?.close();
    await api?.close();
  });

  it('create, test, discover, map, sync; then an incremental sync picks up only the changes', async () => {
    const config = {
      baseUrl: api.url,
      authType: 'bearer',
      bearerToken: TOKEN,
      streams: [
        {
          name: 'users',
          path: '/users/cursor',
          recordSelector: '$.data',
          primaryKey: ['id'],
          paging: { type: 'body_cursor', pageSize: 200, pageSizeParam: 'limit', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor' },
          incremental: { cursorField: 'updated_at', requestParam: 'updated_since' },
        },
      ],
      sampleSize: 50,
    };
    const created = await call('POST', '/pip/connections', { name: 'directory-api', type: 'rest', config });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    expect(created.json().config.bearerToken).toBe('********');
    expect(JSON.stringify(await t.db.knex('connections').where({ id }).first())).not.toContain(TOKEN);

    const tested = await call('POST', `/pip/connections/${id}/test`);
    expect(tested.statusCode, tested.body).toBe(200);
    expect(tested.json()).toMatchObject({ ok: true, details: { stream: 'users', recordsOnFirstPage: 200 } });

    const discovered = await call('POST', `/pip/connections/${id}/discover`);
    expect(discovered.statusCode, discovered.body).toBe(200);
    const users = discovered.json().streams.find((s: { name: string }) => s.name === 'users');
    expect(users).toMatchObject({ kind: 'endpoint', primaryKey: ['id'], cursorCandidates: ['updated_at'], supportedSyncModes: ['full', 'incremental'] });
    expect(users.fields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['id', 'email', 'department', 'updated_at', 'address.city']));

    const mapped = await call('PUT', `/pip/connections/${id}/streams`, {
      streams: [
        {
          name: 'users',
          target_name: 'directory_users',
          sync_mode: 'incremental',
          fields: [{ name: 'id' }, { name: 'email' }, { name: 'department' }, { name: 'address.city', target: 'city' }, { name: 'updated_at' }],
        },
      ],
    });
    expect(mapped.statusCode, mapped.body).toBe(200);

    const first = await syncAndWait(t, id);
    expect(first, JSON.stringify(first)).toMatchObject({ status: 'succeeded', revision: 1, counters: { read: 1200, upserted: 1200, deleted: 0 } });
    expect(api.throttled).toBeGreaterThan(0);
    expect(api.early).toBe(0);
    expect(first.counters.rate_limited_ms).toBeGreaterThan(0);

    const rows = await t.db.knex('records').where({ connection_id: id }).orderBy('record_key');
    expect(rows).toHaveLength(1200);
    expect(new Set(rows.map((r: { stream: string }) => r.stream))).toEqual(new Set(['directory_users']));
    const u42 = api.users.find((u) => u.id === 42)!;
    expect(rows.find((r: { record_key: string }) => r.record_key === '42').data).toEqual({ id: 42, email: u42.email, department: u42.department, city: u42.address.city, updated_at: u42.updated_at });

    const cursorBefore = api.users.map((u) => u.updated_at).sort().at(-1)!;
    const atBoundary = api.users.filter((u) => u.updated_at === cursorBefore).length;
    api.touch([7, 900], '2026-09-09T09:09:09.000Z');
    api.users.find((u) => u.id === 900)!.department = 'Legal';
    const requestsBefore = api.requests.length;
    const second = await syncAndWait(t, id);
    expect(second, JSON.stringify(second)).toMatchObject({ status: 'succeeded', revision: 2, counters: { read: 2 + atBoundary, upserted: 2, unchanged: atBoundary } });
    expect(api.requests.slice(requestsBefore).some((r) => r.url.searchParams.get('updated_since') === cursorBefore)).toBe(true);
    const changed = await t.db.knex('records').where({ connection_id: id, revision: 2 }).orderBy('record_key');
    expect(changed.map((r: { record_key: string }) => r.record_key)).toEqual(['7', '900']);
    expect(changed[1].data).toMatchObject({ department: 'Legal', updated_at: '2026-09-09T09:09:09.000Z' });
    expect(await t.db.knex('records').where({ connection_id: id })).toHaveLength(1200);
    const state = await t.db.knex('sync_state').where({ connection_id: id }).first();
    expect(state.stream_state.users).toEqual({ cursorField: 'updated_at', cursor: '2026-09-09T09:09:09.000Z' });
  });
});
