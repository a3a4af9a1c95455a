import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createFakeSource, type FakeSource } from '../fakes/fake-source.ts';
import { ConnectorRegistry } from '../../src/registry/registry.ts';

const TOKEN = 'tok-Plaintext-4f9a2c';

describe.each(BACKENDS)('connections API on %s', (backend) => {
  let t: TestApp;
  let fake: FakeSource;
  const post = (url: string, payload: unknown, key?: string) => t.app.inject({ method: 'POST', url, payload: payload as object, headers: t.auth(key) });
  const put = (url: string, payload: unknown) => t.app.inject({ method: 'PUT', url, payload: payload as object, headers: t.auth() });
  const get = (url: string, key?: string) => t.app.inject({ method: 'GET', url, headers: t.auth(key) });

  beforeAll(async () => {
    fake = createFakeSource();
    fake.tables.set('users', [
      { id: 1, email: 'a@x.io', name: 'A', ssn: '111', updated_at: '2026-01-01T00:00:00Z' },
      { id: 2, email: 'b@x.io', name: 'B', ssn: '222', updated_at: '2026-01-02T00:00:00Z' },
    ]);
    fake.tables.set('teams', [{ id: 't1', title: 'Red' }]);
    t = await startTestApp(backend, {}, { registry: new ConnectorRegistry([fake.definition]) });
  });
  afterAll(async () => t?.close());

  async function create(name: string, config: Record<string, unknown> = { host: 'localhost', token: TOKEN }) {
    const r = await post('/pip/connections', { name, type: 'fake', config });
    expect(r.statusCode, r.body).toBe(201);
    return r.json();
  }

  it('lists connector types with JSON Schema, secret fields, wizard steps and templates', async () => {
    const r = await get('/pip/connectors');
    expect(r.statusCode).toBe(200);
    const [c] = r.json().items;
    expect(c).toMatchObject({ type: 'fake', category: 'database', auth_kinds: ['api_token'], secret_fields: ['token', 'options.signingKey'] });
    expect(c.config_schema.properties.token['x-secret']).toBe(true);
    expect(c.steps.map((s: { id: string }) => s.id)).toEqual(['connection', 'authentication']);
    expect((await get('/pip/connectors/fake/templates')).json().items[0].id).toBe('local');
    expect((await get('/pip/connectors/nope')).statusCode).toBe(404);
  });

  it('validates one wizard step at a time with field paths', async () => {
    const bad = (await post('/pip/connectors/fake/validate', { step: 'connection', config: { dataset: '' } })).json();
    expect(bad.valid).toBe(false);
    expect(bad.problems.map((p: { path: string }) => p.path).sort()).toEqual(['config.dataset', 'config.host']);
    const ok = (await post('/pip/connectors/fake/validate', { step: 'connection', config: { host: 'db.local' } })).json();
    expect(ok).toMatchObject({ valid: true, next_step: 'authentication', problems: [] });
    const last = (await post('/pip/connectors/fake/validate', { step: 'authentication', config: { token: 'x' } })).json();
    expect(last.next_step).toBe('test');
    const unknown = await post('/pip/connectors/fake/validate', { step: 'nope', config: {} });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('connection, authentication');
  });

  it('stores secrets sealed, returns them masked, and keeps them on an update that omits them', async () => {
    const c = await create('crm', { host: 'localhost', token: TOKEN, options: { region: 'eu', signingKey: 'sign-Plain-77' } });
    expect(c.config).toEqual({ host: 'localhost', dataset: 'main', token: '********', options: { region: 'eu', signingKey: '********' } });
    const stored = await t.db.knex('connections').where({ id: c.id }).first();
    expect(JSON.stringify(stored)).not.toContain(TOKEN);
    expect(JSON.stringify(stored)).not.toContain('sign-Plain-77');

    // update without secrets: kept, and the connector receives the stored value
    const u = await put(`/pip/connections/${c.id}`, { config: { host: '127.0.0.1', options: { region: 'us' } } });
    expect(u.statusCode, u.body).toBe(200);
    expect(u.json().config).toEqual({ host: '127.0.0.1', dataset: 'main', token: '********', options: { region: 'us', signingKey: '********' } });
    const test = (await post(`/pip/connections/${c.id}/test`, {})).json();
    expect(test.ok).toBe(true);
    expect(fake.seenTokens.at(-1)).toBe(TOKEN);

    // the mask sent back also keeps the value; a new value replaces it; null removes an optional one
    await put(`/pip/connections/${c.id}`, { config: { host: '127.0.0.1', token: '********', options: { signingKey: null } } });
    await post(`/pip/connections/${c.id}/test`, {});
    expect(fake.seenTokens.at(-1)).toBe(TOKEN);
    const after = (await get(`/pip/connections/${c.id}`)).json();
    expect(after.config.options).toEqual({});
    await put(`/pip/connections/${c.id}`, { config: { host: '127.0.0.1', token: 'tok-New-1' } });
    await post(`/pip/connections/${c.id}/test`, {});
    expect(fake.seenTokens.at(-1)).toBe('tok-New-1');

    // decryptions are audited, secret values never appear in the audit log
    const audit = (await get(`/pip/audit/logs?connection_id=${c.id}&limit=100`)).json().items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['connection.create', 'connection.update', 'connection.test', 'secret.decrypt']));
    expect(JSON.stringify(audit)).not.toContain(TOKEN);
  });

  it('rejects invalid configs with field paths and refuses metadata addresses', async () => {
    const r = await post('/pip/connections', { name: 'x', type: 'fake', config: { token: 'a' } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.details.problems[0].path).toBe('config.host');
    const blocked = await post('/pip/connections', { name: 'meta', type: 'fake', config: { host: '169.254.169.254', token: 'a' } });
    expect(blocked.statusCode).toBe(400);
    expect(blocked.json().error.code).toBe('PIP_TARGET_BLOCKED');
    const unknownType = await post('/pip/connections', { name: 'y', type: 'oracle9', config: {} });
    expect(unknownType.statusCode).toBe(404);
    await create('dup');
    expect((await post('/pip/connections', { name: 'dup', type: 'fake', config: { host: 'h', token: 'a' } })).statusCode).toBe(409);
  });

  it('tests an unsaved config and explains failures without leaking the secret', async () => {
    const ok = (await post('/pip/connections/test', { type: 'fake', config: { host: 'localhost', token: 'good' } })).json();
    expect(ok).toMatchObject({ ok: true, error: null, details: { tables: 2 } });
    const bad = (await post('/pip/connections/test', { type: 'fake', config: { host: 'localhost', token: 'bad' } })).json();
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatchObject({ code: 'PIP_SOURCE_AUTH_FAILED', kind: 'auth' });
    expect(bad.error.hint).toMatch(/credentials|token/i);
    const meta = (await post('/pip/connections/test', { type: 'fake', config: { host: '169.254.169.254', token: 'good' } })).json();
    expect(meta.error.code).toBe('PIP_SOURCE_ADDRESS_BLOCKED');
  });

  it('discovers a catalog, versions it and reports the diff against the previous one', async () => {
    const c = await create('disc');
    expect((await get(`/pip/connections/${c.id}/schema`)).statusCode).toBe(409);
    const v1 = (await post(`/pip/connections/${c.id}/discover`, {})).json();
    expect(v1.version).toBe(1);
    expect(v1.diff).toMatchObject({ has_previous: false, added_streams: ['users', 'teams'] });
    const users = v1.streams.find((s: { name: string }) => s.name === 'users');
    expect(users.fields.find((f: { name: string }) => f.name === 'email').suggestedSensitivity).toBe('confidential');

    fake.tables.set('users', [{ id: 1, email: 'a@x.io', name: 'A', ssn: '111', updated_at: '2026-01-01T00:00:00Z', title: 7 }]);
    fake.tables.delete('teams');
    fake.tables.set('rooms', [{ id: 'r1' }]);
    const v2 = (await post(`/pip/connections/${c.id}/discover`, {})).json();
    expect(v2.version).toBe(2);
    expect(v2.diff).toMatchObject({ has_previous: true, added_streams: ['rooms'], removed_streams: ['teams'] });
    expect(v2.diff.changed_streams).toEqual([{ stream: 'users', added_fields: ['title'], removed_fields: [], changed_fields: [] }]);
    expect((await get(`/pip/connections/${c.id}/schema`)).json().version).toBe(2);
    fake.tables.set('teams', [{ id: 't1', title: 'Red' }]);
  });

  it('validates the mapping against the catalog and keeps restricted fields unpublished by default', async () => {
    const c = await create('map');
    expect((await put(`/pip/connections/${c.id}/streams`, { streams: [{ name: 'users' }] })).statusCode).toBe(409);
    await post(`/pip/connections/${c.id}/discover`, {});
    const bad = await put(`/pip/connections/${c.id}/streams`, { streams: [
      { name: 'nope' },
      { name: 'users', fields: [{ name: 'id' }, { name: 'zzz' }] },
      { name: 'teams', sync_mode: 'incremental' },
    ] });
    expect(bad.statusCode).toBe(400);
    const paths = bad.json().error.details.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['body.streams.0.name', 'body.streams.1.fields.1.name', 'body.streams.2.sync_mode']));

    const ok = await put(`/pip/connections/${c.id}/streams`, { streams: [
      { name: 'users', target_name: 'people', sync_mode: 'incremental', fields: [{ name: 'id' }, { name: 'email', target: 'mail' }, { name: 'ssn' }, { name: 'updated_at' }] },
    ] });
    expect(ok.statusCode, ok.body).toBe(200);
    const [m] = ok.json().streams;
    expect(m).toMatchObject({ target_name: 'people', sync_mode: 'incremental', cursor_field: 'updated_at', primary_key: ['id'] });
    expect(m.fields.find((f: { name: string }) => f.name === 'ssn')).toEqual({ name: 'ssn', target: 'ssn', sensitivity: 'restricted', publish: false });
    expect((await get(`/pip/connections/${c.id}/streams`)).json().streams).toHaveLength(1);
    expect((await get(`/pip/connections/${c.id}`)).json().streams_configured).toBe(1);
  });

  it('keeps connections inside their tenant and deletes them with their secrets', async () => {
    const c = await create('mine');
    await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id: 'other', name: 'Other' } });
    const key = (await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'other' }, payload: { name: 'o', role: 'admin' } })).json().key;
    for (const [method, url] of [['GET', ''], ['PUT', ''], ['DELETE', ''], ['POST', '/test'], ['POST', '/discover'], ['GET', '/schema'], ['GET', '/streams'], ['GET', '/health']] as const) {
      const r = await t.app.inject({ method, url: `/pip/connections/${c.id}${url}`, headers: t.auth(key), payload: method === 'PUT' ? { name: 'stolen' } : method === 'POST' ? {} : undefined });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await get('/pip/connections', key)).json().items).toEqual([]);
    const list = (await get('/pip/connections?limit=2')).json();
    expect(list.items).toHaveLength(2);
    expect(list.next_cursor).toBeTruthy();

    expect((await t.app.inject({ method: 'DELETE', url: `/pip/connections/${c.id}`, headers: t.auth() })).statusCode).toBe(204);
    expect((await get(`/pip/connections/${c.id}`)).statusCode).toBe(404);
    expect(await t.db.knex('secrets').where({ owner_id: c.id }).count('* as n').first()).toMatchObject({ n: 0 });
  });

  it('lets viewers read but not change connections', async () => {
    const viewer = (await post('/pip/api-keys', { name: 'v', role: 'viewer' })).json().key;
    expect((await get('/pip/connections', viewer)).statusCode).toBe(200);
    expect((await post('/pip/connections', { name: 'v', type: 'fake', config: { host: 'h', token: 'a' } }, viewer)).statusCode).toBe(403);
  });
});
