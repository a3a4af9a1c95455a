/**
 * The audit log: every mutation leaves an event naming who did what to which target, with the
 * request id the client saw; the log filters and pages; the hash chain detects a changed or a
 * removed row; and the service's own database role cannot rewrite history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

interface Event {
  id: number;
  seq: number;
  occurred_at: string;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  connection_id: string | null;
  outcome: string;
  request_id: string | null;
  details: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('audit log on %s', (backend) => {
  let t: TestApp;
  let adminActor: string;

  const logs = async (query: string, opts: { tenant?: string; key?: string } = {}) => {
    const r = await t.app.inject({ method: 'GET', url: `/pip/audit/logs?${query}`, headers: { ...t.auth(opts.key), ...(opts.tenant ? { 'x-pip-tenant': opts.tenant } : {}) } });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { items: Event[]; next_cursor: string | null };
  };
  /** failed requests are recorded after the response is sent: poll briefly */
  const eventually = async <T>(fn: () => Promise<T | undefined>, ms = 3_000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error('event did not appear');
      await sleep(25);
    }
  };
  const verify = async (tenant: string) => {
    const r = await t.app.inject({ method: 'GET', url: '/pip/audit/verify', headers: { ...t.auth(), 'x-pip-tenant': tenant } });
    expect(r.statusCode).toBe(200);
    return r.json() as { ok: boolean; checked: number; first_broken?: { id: number; seq: number; reason: string } };
  };
  const createTenant = async (id: string) => {
    const r = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id, name: id } });
    expect(r.statusCode).toBe(201);
  };
  const record = (tenantId: string, action: string, extra: { actor?: string; connectionId?: string; details?: Record<string, unknown> } = {}) =>
    t.services.audit.recordAlone({ tenantId, actor: extra.actor ?? 'test', action, outcome: 'success', connectionId: extra.connectionId, details: extra.details });

  beforeAll(async () => {
    t = await startTestApp(backend);
    const platformKeys = await t.app.inject({ method: 'GET', url: '/pip/api-keys?platform=true', headers: t.auth() });
    adminActor = `api_key:${platformKeys.json().items[0].id}`;
  });
  afterAll(async () => t?.close());

  it('records each mutation with actor, action, target, outcome and the request id the client saw', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: { ...t.auth(), 'x-request-id': 'req-create-tenant' }, payload: { id: 'acme', name: 'Acme' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['x-request-id']).toBe('req-create-tenant');
    const [tenantEvent] = (await logs('platform=true&action=tenant.create')).items;
    expect(tenantEvent).toMatchObject({ actor: adminActor, action: 'tenant.create', target_type: 'tenant', target_id: 'acme', outcome: 'success', request_id: 'req-create-tenant' });

    const key = await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'acme' }, payload: { name: 'ops', role: 'editor' } });
    expect(key.statusCode).toBe(201);
    const keyId = key.json().id;
    const [keyEvent] = (await logs('action=api_key.create', { tenant: 'acme' })).items;
    expect(keyEvent).toMatchObject({ actor: adminActor, action: 'api_key.create', target_type: 'api_key', target_id: keyId, outcome: 'success', request_id: key.headers['x-request-id'] });
    expect(keyEvent.details).toMatchObject({ name: 'ops', role: 'editor', prefix: key.json().prefix });
    expect(JSON.stringify(keyEvent)).not.toContain(key.json().key);

    const revoked = await t.app.inject({ method: 'DELETE', url: `/pip/api-keys/${keyId}`, headers: { ...t.auth(), 'x-pip-tenant': 'acme' } });
    expect(revoked.statusCode).toBe(204);
    const [revokeEvent] = (await logs('action=api_key.revoke', { tenant: 'acme' })).items;
    expect(revokeEvent).toMatchObject({ actor: adminActor, action: 'api_key.revoke', target_type: 'api_key', target_id: keyId, outcome: 'success', request_id: revoked.headers['x-request-id'] });

    const invalid = await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'acme' }, payload: { name: '', role: 'root' } });
    expect(invalid.statusCode).toBe(400);
    const requestId = invalid.headers['x-request-id'] as string;
    const failed = await eventually(async () => (await logs('action=http.post', { tenant: 'acme' })).items.find((e) => e.request_id === requestId));
    expect(failed).toMatchObject({ actor: adminActor, action: 'http.post', target_type: 'route', target_id: '/pip/api-keys', outcome: 'failure', details: { status: 400, path: '/pip/api-keys' } });

    // a refused mutation is recorded as denied, on the tenant the key belongs to
    const editorKey = (await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'acme' }, payload: { name: 'ed', role: 'editor' } })).json();
    const denied = await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: t.auth(editorKey.key), payload: { name: 'x', role: 'admin' } });
    expect(denied.statusCode).toBe(403);
    const deniedEvent = await eventually(async () => (await logs('action=http.post', { tenant: 'acme' })).items.find((e) => e.request_id === denied.headers['x-request-id']));
    expect(deniedEvent).toMatchObject({ actor: `api_key:${editorKey.id}`, outcome: 'denied', details: { status: 403 } });

    expect(await verify('acme')).toMatchObject({ ok: true });
  });

  it('filters by exact action, action prefix, actor, connection and time range', async () => {
    await createTenant('filters');
    const f = 'filters';
    await record(f, 'connection.create', { actor: 'user:alice', connectionId: 'c-1' });
    await record(f, 'connection.update', { actor: 'user:bob', connectionId: 'c-1' });
    await record(f, 'connection.sync.started', { actor: 'user:alice', connectionId: 'c-2' });
    await record(f, 'connectionx.other', { actor: 'user:alice' });
    await record(f, 'apiXkey.create', { actor: 'user:alice' });
    await sleep(30);
    const from = new Date();
    await sleep(30);
    await record(f, 'window.inside', { actor: 'user:carol', connectionId: 'c-3' });
    await sleep(30);
    const to = new Date();
    await sleep(30);
    await record(f, 'window.after', { actor: 'user:carol' });

    const actions = async (q: string) => (await logs(q, { tenant: f })).items.map((e) => e.action);
    expect(await actions('action=connection.update')).toEqual(['connection.update']);
    // a prefix matches whole segments only, and `_`/`%` in it are literal
    expect(await actions('action=connection')).toEqual(['connection.sync.started', 'connection.update', 'connection.create']);
    expect(await actions('action=connection.sync')).toEqual(['connection.sync.started']);
    expect(await actions('action=connection%25')).toEqual([]);
    expect(await actions('action=api_key')).toEqual([]);
    expect(await actions('action=apiXkey')).toEqual(['apiXkey.create']);
    expect(await actions('actor=user:bob')).toEqual(['connection.update']);
    expect(await actions('actor=user:alice&action=connection')).toEqual(['connection.sync.started', 'connection.create']);
    expect(await actions('connection_id=c-1')).toEqual(['connection.update', 'connection.create']);
    expect(await actions('connection_id=c-2')).toEqual(['connection.sync.started']);
    expect(await actions(`start_date=${from.toISOString()}&end_date=${to.toISOString()}`)).toEqual(['window.inside']);
    expect(await actions(`start_date=${from.toISOString()}`)).toEqual(['window.after', 'window.inside']);
    expect(await actions(`end_date=${from.toISOString()}&action=window`)).toEqual([]);

    const bad = await t.app.inject({ method: 'GET', url: `/pip/audit/logs?start_date=${to.toISOString()}&end_date=${from.toISOString()}`, headers: { ...t.auth(), 'x-pip-tenant': f } });
    expect(bad.statusCode).toBe(400);
    // another tenant's events never show up
    expect((await logs('connection_id=c-1', { tenant: 'acme' })).items).toEqual([]);
  });

  it('pages newest first with a cursor, without duplicates or gaps', async () => {
    await createTenant('paging');
    for (let i = 0; i < 7; i++) await record('paging', `page.event${i}`);
    const all = (await logs('limit=500', { tenant: 'paging' })).items.map((e) => e.id);
    expect(all.length).toBe(7);
    expect([...all].sort((a, b) => b - a)).toEqual(all);
    const walked: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await logs(`limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { tenant: 'paging' });
      expect(page.items.length).toBeLessThanOrEqual(3);
      walked.push(...page.items.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all);
    // new events arriving while a client pages do not shift the pages already handed out
    const first = await logs('limit=3', { tenant: 'paging' });
    await record('paging', 'page.late');
    const second = await logs(`limit=3&cursor=${encodeURIComponent(first.next_cursor!)}`, { tenant: 'paging' });
    expect(second.items.map((e) => e.id)).toEqual(all.slice(3, 6));
  });

  it('verifies an intact chain, per tenant and on the platform chain', async () => {
    await createTenant('intact');
    for (let i = 0; i < 5; i++) await record('intact', `intact.e${i}`, { details: { i, nested: { b: 2, a: 1 } } });
    expect(await verify('intact')).toEqual({ ok: true, checked: 5 });
    const platform = await t.app.inject({ method: 'GET', url: '/pip/audit/verify?platform=true', headers: t.auth() });
    expect(platform.json()).toMatchObject({ ok: true });
    expect(platform.json().checked).toBeGreaterThan(0);
  });

  it('names the changed row when an event is modified behind the service', async () => {
    await createTenant('tamper');
    for (let i = 0; i < 5; i++) await record('tamper', `tamper.e${i}`, { details: { amount: i } });
    expect(await verify('tamper')).toEqual({ ok: true, checked: 5 });
    const rows = await t.db.knex('audit_events').where({ tenant_id: 'tamper' }).orderBy('seq');
    const victim = rows[2];
    await t.db.knex('audit_events').where({ id: victim.id }).update({ details: JSON.stringify({ amount: 1000 }) });
    const result = await verify('tamper');
    expect(result.ok).toBe(false);
    expect(result.checked).toBe(2);
    expect(result.first_broken).toMatchObject({ id: Number(victim.id), seq: 3 });
    expect(result.first_broken!.reason).toMatch(/modified/);
  });

  it('names the gap when an event is deleted from the middle of the chain', async () => {
    await createTenant('gap');
    for (let i = 0; i < 5; i++) await record('gap', `gap.e${i}`);
    const rows = await t.db.knex('audit_events').where({ tenant_id: 'gap' }).orderBy('seq');
    await t.db.knex('audit_events').where({ id: rows[2].id }).delete();
    const result = await verify('gap');
    expect(result.ok).toBe(false);
    expect(result.first_broken).toMatchObject({ id: Number(rows[3].id), seq: 4 });
    expect(result.first_broken!.reason).toMatch(/gap: expected 3, found 4/);
  });

  it("detects a row re-chained after a deletion (seq renumbered, prev_hash left stale)", async () => {
    await createTenant('rechain');
    for (let i = 0; i < 4; i++) await record('rechain', `rechain.e${i}`);
    const rows = await t.db.knex('audit_events').where({ tenant_id: 'rechain' }).orderBy('seq');
    await t.db.knex('audit_events').where({ id: rows[1].id }).delete();
    await t.db.knex('audit_events').where({ id: rows[2].id }).update({ seq: 2 });
    await t.db.knex('audit_events').where({ id: rows[3].id }).update({ seq: 3 });
    const result = await verify('rechain');
    expect(result).toMatchObject({ ok: false, first_broken: { id: Number(rows[2].id), seq: 2 } });
  });

  it("lets a tenant admin read and verify its own tenant's log only", async () => {
    await createTenant('reader');
    await record('reader', 'reader.own');
    await record('filters', 'reader.foreign');
    const admin = (await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'reader' }, payload: { name: 'a', role: 'admin' } })).json();
    const editor = (await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': 'reader' }, payload: { name: 'e', role: 'editor' } })).json();
    const own = await logs('action=reader', { key: admin.key });
    expect(own.items.map((e) => e.action)).toEqual(['reader.own']);
    const verified = await t.app.inject({ method: 'GET', url: '/pip/audit/verify', headers: t.auth(admin.key) });
    expect(verified.json()).toMatchObject({ ok: true });
    for (const url of ['/pip/audit/logs?platform=true', '/pip/audit/verify?platform=true']) {
      expect((await t.app.inject({ method: 'GET', url, headers: t.auth(admin.key) })).statusCode, url).toBe(403);
    }
    expect((await t.app.inject({ method: 'GET', url: '/pip/audit/logs', headers: t.auth(editor.key) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/pip/audit/logs', headers: { ...t.auth(admin.key), 'x-pip-tenant': 'filters' } })).statusCode).toBe(403);
  });

  it('keeps the log append-only for the service role: update, delete and truncate are refused', async () => {
    await createTenant('appendonly');
    await record('appendonly', 'append.e1');
    await expect(t.db.withTenant('appendonly', (trx) => trx('audit_events').update({ details: JSON.stringify({ rewritten: true }) }))).rejects.toThrow(/permission denied/);
    await expect(t.db.withTenant('appendonly', (trx) => trx('audit_events').where({ tenant_id: 'appendonly' }).delete())).rejects.toThrow(/permission denied/);
    await expect(t.db.withTenant('appendonly', (trx) => trx.raw('truncate audit_events'))).rejects.toThrow(/permission denied/);
    await expect(t.db.withSystem((trx) => trx('audit_events').delete())).rejects.toThrow(/permission denied/);
    // inserting is what the service does, and a tenant may only append to its own chain
    await expect(t.db.withTenant('appendonly', (trx) => t.services.audit.record(trx, { tenantId: 'other', actor: 'x', action: 'forged', outcome: 'success' }))).rejects.toThrow(/row-level security/);
    expect(await verify('appendonly')).toEqual({ ok: true, checked: 1 });
  });
});
