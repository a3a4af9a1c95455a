/**
 * Tenancy acceptance: platform admins manage tenants, tenant admins manage their own keys, a key
 * never reaches another tenant, and PostgreSQL row-level security holds even for a query that
 * forgets its tenant filter (on the embedded PGlite and on a real PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

describe.each(BACKENDS)('tenancy and API keys on %s', (backend) => {
  let t: TestApp;
  /** admin keys of tenants a and b, created by the platform admin */
  let aAdmin: string;
  let bAdmin: string;
  let bAdminId: string;

  const call = (method: Method, url: string, key: string, opts: { payload?: unknown; tenant?: string } = {}) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(opts.tenant ? { 'x-pip-tenant': opts.tenant } : {}) },
      ...(opts.payload !== undefined ? { payload: opts.payload as object } : {}),
    });

  const createTenant = async (id: string) => {
    const r = await call('POST', '/pip/tenants', t.adminKey, { payload: { id, name: `Tenant ${id}` } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json();
  };

  /** a key of `tenant` created by the platform admin acting in that tenant */
  const createKey = async (tenant: string, role: string, extra: Record<string, unknown> = {}) => {
    const r = await call('POST', '/pip/api-keys', t.adminKey, { tenant, payload: { name: `${tenant}-${role}`, role, ...extra } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; key: string; tenant_id: string; role: string };
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    await createTenant('a');
    await createTenant('b');
    aAdmin = (await createKey('a', 'admin')).key;
    const b = await createKey('b', 'admin');
    bAdmin = b.key;
    bAdminId = b.id;
  });
  afterAll(async () => t?.close());

  describe('tenants', () => {
    it('lets a platform admin create tenants and page through them with a cursor, without duplicates', async () => {
      for (const id of ['p1', 'p2', 'p3']) await createTenant(id);
      const all = (await call('GET', '/pip/tenants?limit=500', t.adminKey)).json();
      expect(all.next_cursor).toBeNull();
      const allIds: string[] = all.items.map((x: { id: string }) => x.id);
      expect(allIds).toEqual(expect.arrayContaining(['default', 'a', 'b', 'p1', 'p2', 'p3']));

      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await call('GET', `/pip/tenants?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, t.adminKey);
        expect(r.statusCode).toBe(200);
        const page = r.json();
        expect(page.items.length).toBeLessThanOrEqual(1);
        walked.push(...page.items.map((x: { id: string }) => x.id));
        cursor = page.next_cursor;
        pages++;
        expect(pages, 'pagination must terminate').toBeLessThan(100);
      } while (cursor);
      expect(new Set(walked).size).toBe(walked.length);
      expect(walked).toEqual(allIds);
      expect(pages).toBeGreaterThanOrEqual(allIds.length);
    });

    it('refuses a duplicate tenant id with 409', async () => {
      const r = await call('POST', '/pip/tenants', t.adminKey, { payload: { id: 'a', name: 'again' } });
      expect(r.statusCode).toBe(409);
      expect(r.json().error.code).toBe('PIP_TENANT_EXISTS');
    });

    it("stops a disabled tenant's keys with 403 PIP_TENANT_DISABLED and lets them work again once re-enabled", async () => {
      await createTenant('dis');
      const { key } = await createKey('dis', 'viewer');
      expect((await call('GET', '/pip/tenants/dis', key)).statusCode).toBe(200);

      const off = await call('PATCH', '/pip/tenants/dis', t.adminKey, { payload: { status: 'disabled' } });
      expect(off.statusCode).toBe(200);
      expect(off.json().status).toBe('disabled');
      const refused = await call('GET', '/pip/tenants/dis', key);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('PIP_TENANT_DISABLED');
      const listed = (await call('GET', '/pip/tenants?status=disabled', t.adminKey)).json();
      expect(listed.items.map((x: { id: string }) => x.id)).toEqual(['dis']);

      const on = await call('PATCH', '/pip/tenants/dis', t.adminKey, { payload: { status: 'active' } });
      expect(on.statusCode).toBe(200);
      expect((await call('GET', '/pip/tenants/dis', key)).statusCode).toBe(200);
    });

    it('refuses to disable the default tenant with 409', async () => {
      const r = await call('PATCH', '/pip/tenants/default', t.adminKey, { payload: { status: 'disabled' } });
      expect(r.statusCode).toBe(409);
      expect(r.json().error.code).toBe('PIP_CONFLICT');
      expect((await call('GET', '/pip/tenants/default', t.adminKey)).json().status).toBe('active');
    });

    it('lets only platform admins create, list or change tenants', async () => {
      expect((await call('POST', '/pip/tenants', aAdmin, { payload: { id: 'nope', name: 'x' } })).statusCode).toBe(403);
      expect((await call('GET', '/pip/tenants', aAdmin)).statusCode).toBe(403);
      expect((await call('PATCH', '/pip/tenants/a', aAdmin, { payload: { name: 'renamed' } })).statusCode).toBe(403);
      expect((await call('GET', '/pip/tenants/nope', t.adminKey)).statusCode).toBe(404);
      // a tenant key reads its own tenant
      const own = await call('GET', '/pip/tenants/a', aAdmin);
      expect(own.statusCode).toBe(200);
      expect(own.json()).toMatchObject({ id: 'a', name: 'Tenant a', status: 'active' });
    });
  });

  describe('API keys', () => {
    it('shows a new key once; the key authenticates; lists never contain the key or its hash', async () => {
      const r = await call('POST', '/pip/api-keys', aAdmin, { payload: { name: 'ci', role: 'editor' } });
      expect(r.statusCode).toBe(201);
      expect(r.headers['cache-control']).toBe('no-store');
      const created = r.json();
      expect(created).toMatchObject({ name: 'ci', role: 'editor', tenant_id: 'a', last_used_at: null, revoked_at: null });
      expect(created.key).toMatch(/^pip_[A-Za-z0-9]{12}_/);
      expect(created.key.startsWith(`pip_${created.prefix}_`)).toBe(true);
      expect(created).not.toHaveProperty('hash');

      const list = await call('GET', '/pip/api-keys?limit=500', aAdmin);
      expect(list.statusCode).toBe(200);
      const items = list.json().items as Array<Record<string, unknown>>;
      expect(items.map((k) => k.id)).toContain(created.id);
      for (const item of items) {
        expect(item).not.toHaveProperty('key');
        expect(item).not.toHaveProperty('hash');
        expect(item.tenant_id).toBe('a');
      }
      expect(list.body).not.toContain(created.key);
      expect(list.body).not.toContain(created.key.split('_').pop());

      // the editor key authenticates (and, being an editor, reads its tenant)
      expect((await call('GET', '/pip/tenants/a', created.key)).statusCode).toBe(200);
    });

    it('records when a key was last used', async () => {
      const { id, key } = await createKey('a', 'viewer');
      const before = (await call('GET', '/pip/api-keys?limit=500', aAdmin)).json().items.find((k: { id: string }) => k.id === id);
      expect(before.last_used_at).toBeNull();
      const t0 = Date.now();
      expect((await call('GET', '/pip/tenants/a', key)).statusCode).toBe(200);
      const after = (await call('GET', '/pip/api-keys?limit=500', aAdmin)).json().items.find((k: { id: string }) => k.id === id);
      expect(after.last_used_at).not.toBeNull();
      expect(Math.abs(new Date(after.last_used_at).getTime() - t0)).toBeLessThan(60_000);
    });

    it('answers 401 for a revoked key and hides it from the default list', async () => {
      const { id, key } = await createKey('a', 'viewer');
      expect((await call('GET', '/pip/tenants/a', key)).statusCode).toBe(200);
      const del = await call('DELETE', `/pip/api-keys/${id}`, aAdmin);
      expect(del.statusCode).toBe(204);
      const r = await call('GET', '/pip/tenants/a', key);
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe('PIP_UNAUTHORIZED');
      const active = (await call('GET', '/pip/api-keys?limit=500', aAdmin)).json().items.map((k: { id: string }) => k.id);
      expect(active).not.toContain(id);
      const withRevoked = (await call('GET', '/pip/api-keys?limit=500&include_revoked=true', aAdmin)).json().items;
      expect(withRevoked.find((k: { id: string }) => k.id === id).revoked_at).not.toBeNull();
      // revoking twice: the key is still found, the call is harmless
      expect((await call('DELETE', `/pip/api-keys/${id}`, aAdmin)).statusCode).toBe(204);
    });

    it('answers 401 once a key passes its expires_at, and refuses an expiry in the past', async () => {
      const expiresAt = new Date(Date.now() + 2_500);
      const { key } = await createKey('a', 'viewer', { expires_at: expiresAt.toISOString() });
      expect((await call('GET', '/pip/tenants/a', key)).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() - Date.now()) + 100));
      expect((await call('GET', '/pip/tenants/a', key)).statusCode).toBe(401);

      const past = await call('POST', '/pip/api-keys', aAdmin, { payload: { name: 'old', role: 'viewer', expires_at: new Date(Date.now() - 1000).toISOString() } });
      expect(past.statusCode).toBe(400);
    });

    it('keeps the pages of the key list free of duplicates', async () => {
      for (let i = 0; i < 3; i++) await createKey('a', 'viewer');
      const all = (await call('GET', '/pip/api-keys?limit=500&include_revoked=true', aAdmin)).json().items.map((k: { id: string }) => k.id);
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: Array<{ id: string }>; next_cursor: string | null } = (await call('GET', `/pip/api-keys?limit=2&include_revoked=true${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, aAdmin)).json();
        walked.push(...page.items.map((k) => k.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(new Set(walked).size).toBe(walked.length);
      expect(walked).toEqual(all);

      // a cursor that was not handed out is refused as a client error, never a 500
      const forged = Buffer.from(JSON.stringify({ at: '1', id: 'x' })).toString('base64url');
      for (const cursor of ['garbage', forged]) {
        const r = await call('GET', `/pip/api-keys?cursor=${cursor}`, aAdmin);
        expect(r.statusCode).toBe(400);
        expect(r.json().error.code).toBe('PIP_INVALID_CURSOR');
      }
    });

    it('lets only platform admins create platform keys; viewers and opal keys manage no keys or tenants', async () => {
      const platform = await call('POST', '/pip/api-keys', aAdmin, { payload: { name: 'escalate', role: 'admin', platform: true } });
      expect(platform.statusCode).toBe(403);
      expect((await call('GET', '/pip/api-keys?platform=true', aAdmin)).statusCode).toBe(403);

      const viewer = (await createKey('a', 'viewer')).key;
      expect((await call('POST', '/pip/api-keys', viewer, { payload: { name: 'x', role: 'viewer' } })).statusCode).toBe(403);
      expect((await call('GET', '/pip/api-keys', viewer)).statusCode).toBe(403);

      const editor = (await createKey('a', 'editor')).key;
      expect((await call('POST', '/pip/api-keys', editor, { payload: { name: 'x', role: 'viewer' } })).statusCode).toBe(403);

      const opal = (await createKey('a', 'opal')).key;
      for (const [method, url, payload] of [
        ['GET', '/pip/tenants', undefined],
        ['POST', '/pip/tenants', { id: 'opalmade', name: 'x' }],
        ['GET', '/pip/tenants/a', undefined],
        ['GET', '/pip/api-keys', undefined],
        ['POST', '/pip/api-keys', { name: 'x', role: 'opal' }],
      ] as Array<[Method, string, unknown]>) {
        const r = await call(method, url, opal, { payload });
        expect(r.statusCode, `${method} ${url}`).toBe(403);
        expect(r.json().error.code).toBe('PIP_FORBIDDEN');
      }

      // a platform admin can create another platform admin key, and it works
      const p = await call('POST', '/pip/api-keys', t.adminKey, { payload: { name: 'second admin', role: 'admin', platform: true } });
      expect(p.statusCode).toBe(201);
      expect(p.json().tenant_id).toBeNull();
      expect((await call('GET', '/pip/tenants', p.json().key)).statusCode).toBe(200);
    });
  });

  describe('isolation between tenants', () => {
    it("refuses a tenant key that names another tenant in X-PIP-Tenant", async () => {
      const r = await call('GET', '/pip/api-keys', aAdmin, { tenant: 'b' });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('PIP_FORBIDDEN');
      const w = await call('POST', '/pip/api-keys', aAdmin, { tenant: 'b', payload: { name: 'x', role: 'admin' } });
      expect(w.statusCode).toBe(403);
      // naming its own tenant is fine
      expect((await call('GET', '/pip/api-keys', aAdmin, { tenant: 'a' })).statusCode).toBe(200);
    });

    it("answers 404 when a tenant admin revokes another tenant's key, and that key keeps working", async () => {
      const r = await call('DELETE', `/pip/api-keys/${bAdminId}`, aAdmin);
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('PIP_API_KEY_NOT_FOUND');
      expect((await call('GET', '/pip/api-keys', bAdmin)).statusCode).toBe(200);
      // same answer as for a key that does not exist: no existence oracle
      const missing = await call('DELETE', '/pip/api-keys/00000000-0000-4000-8000-000000000000', aAdmin);
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe(r.json().error.code);
    });

    it("answers 404 for another tenant's record and lists only the caller's keys", async () => {
      const r = await call('GET', '/pip/tenants/b', aAdmin);
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('PIP_TENANT_NOT_FOUND');
      const keys = (await call('GET', '/pip/api-keys?limit=500&include_revoked=true', aAdmin)).json().items;
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k: { tenant_id: string }) => k.tenant_id === 'a')).toBe(true);
      expect(keys.map((k: { id: string }) => k.id)).not.toContain(bAdminId);
    });

    it("answers 403 or 404 on every id route for another tenant's resources", async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      const paths = spec.paths as Record<string, Record<string, { security?: unknown[] }>>;
      // B's resources per id route: fixtures, plus whatever B's key lists under the route's
      // collection (GET /pip/things) that A's key does not see
      const bResources = new Map<string, string[]>([['/pip/tenants/{id}', ['b']], ['/pip/api-keys/{id}', [bAdminId]]]);
      const idsOf = async (url: string, key: string) => {
        const r = await call('GET', `${url}?limit=500`, key);
        return r.statusCode === 200 && Array.isArray(r.json().items) ? (r.json().items as Array<{ id?: unknown }>).map((x) => String(x.id)) : [];
      };
      for (const p of Object.keys(paths)) {
        const m = /^(.*?)\/\{[^}]+\}/.exec(p);
        if (!m || bResources.has(p) || !paths[m[1]!]?.get) continue;
        const aIds = new Set(await idsOf(m[1]!, aAdmin));
        const bOnly = (await idsOf(m[1]!, bAdmin)).filter((id) => !aIds.has(id));
        if (bOnly.length) bResources.set(p, bOnly.slice(0, 3));
      }
      const anyOfB = ['b', bAdminId];
      const checked: string[] = [];
      for (const [p, ops] of Object.entries(paths)) {
        if (!p.includes('{')) continue;
        for (const [m, op] of Object.entries(ops)) {
          // public routes (webhooks, OPAL endpoints) are not reached with API keys
          if (Array.isArray(op.security) && op.security.length === 0) continue;
          const method = m.toUpperCase() as Method;
          const payload = ['POST', 'PUT', 'PATCH'].includes(method) ? { name: 'probe' } : undefined;
          const owned = bResources.get(p);
          for (const id of owned ?? anyOfB) {
            const url = p.replace(/\{[^}]+\}/g, encodeURIComponent(id));
            const r = await call(method, url, aAdmin, { payload });
            // with B's own resource the answer must be 403/404; a route without a known B
            // resource is probed with B's ids of every kind and may also refuse the id's shape
            expect(owned ? [403, 404] : [400, 403, 404], `${method} ${p} with B's ${id}: ${r.body}`).toContain(r.statusCode);
          }
          checked.push(`${method} ${p}${owned ? '' : ' (probed)'}`);
        }
      }
      expect(checked).toEqual(expect.arrayContaining(['GET /pip/tenants/{id}', 'PATCH /pip/tenants/{id}', 'DELETE /pip/api-keys/{id}']));
      // nothing of B changed
      expect((await call('GET', '/pip/tenants/b', t.adminKey)).json()).toMatchObject({ name: 'Tenant b', status: 'active' });
      expect((await call('GET', '/pip/api-keys', bAdmin)).statusCode).toBe(200);
    });
  });

  describe('row-level security (a query that forgets its tenant filter)', () => {
    beforeAll(async () => {
      await t.db.withTenant('a', (trx) => t.services.secrets.put(trx, { tenantId: 'a', ownerType: 'test', ownerId: 'rls', name: 'pw' }, 'a-secret'));
      await t.db.withTenant('b', (trx) => t.services.secrets.put(trx, { tenantId: 'b', ownerType: 'test', ownerId: 'rls', name: 'pw' }, 'b-secret'));
    });

    it.each([
      ['api_keys', 'tenant_id'],
      ['secrets', 'tenant_id'],
      ['audit_events', 'tenant_id'],
      ['tenants', 'id'],
    ])('shows tenant a only its own rows of %s', async (table, column) => {
      const all = await t.db.knex(table).select(column);
      const owned = all.filter((r) => r[column] === 'a').length;
      // the owner sees other tenants' rows: without RLS the scoped query would return them too
      expect(owned).toBeGreaterThan(0);
      expect(all.length).toBeGreaterThan(owned);
      const seen = await t.db.withTenant('a', (trx) => trx(table).select('*'));
      expect(seen.length).toBe(owned);
      expect(seen.every((r) => r[column] === 'a')).toBe(true);
    });

    it("hides platform keys and the platform audit chain from a tenant's transaction", async () => {
      const keys = await t.db.withTenant('a', (trx) => trx('api_keys').whereNull('tenant_id').select('id'));
      expect(keys).toEqual([]);
      const platform = await t.db.withTenant('a', (trx) => trx('audit_events').where({ tenant_id: '_platform' }).select('id'));
      expect(platform).toEqual([]);
      const visibleToSystem = await t.db.withSystem((trx) => trx('api_keys').whereNull('tenant_id').select('id'));
      expect(visibleToSystem.length).toBeGreaterThan(0);
    });

    it("refuses to write a row for tenant b inside tenant a's transaction", async () => {
      await expect(
        t.db.withTenant('a', (trx) =>
          trx('api_keys').insert({ id: '11111111-1111-4111-8111-111111111111', tenant_id: 'b', name: 'smuggled', prefix: 'smuggled0000', hash: 'x', role: 'admin' }),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        t.db.withTenant('a', (trx) => t.services.secrets.put(trx, { tenantId: 'b', ownerType: 'test', ownerId: 'rls', name: 'other' }, 'smuggled')),
      ).rejects.toThrow(/row-level security/);
      expect(await t.db.knex('api_keys').where({ prefix: 'smuggled0000' })).toEqual([]);
    });

    it("changes only tenant a's rows with an unfiltered update or delete", async () => {
      const bBefore = await t.db.knex('api_keys').where({ tenant_id: 'b' }).orderBy('id');
      const aKeys = (await t.db.knex('api_keys').where({ tenant_id: 'a' })).length;
      const aSecrets = (await t.db.knex('secrets').where({ tenant_id: 'a' })).length;
      expect(aSecrets).toBeGreaterThan(0);
      // the embedded database has one connection: never touch the owner connection inside withTenant
      const rollback = new Error('rollback');
      let counts: { updated: number; deleted: number } | undefined;
      await expect(
        t.db.withTenant('a', async (trx) => {
          counts = { updated: await trx('api_keys').update({ name: 'renamed by a' }), deleted: await trx('secrets').delete() };
          throw rollback;
        }),
      ).rejects.toBe(rollback);
      expect(counts).toEqual({ updated: aKeys, deleted: aSecrets });
      expect(await t.db.knex('api_keys').where({ tenant_id: 'b' }).orderBy('id')).toEqual(bBefore);
      expect(await t.db.knex('secrets').where({ tenant_id: 'b' })).toHaveLength(1);
    });

    it('runs tenant transactions as the configured non-superuser application role', async () => {
      const row = await t.db.withTenant('a', async (trx) => {
        const r = await trx.raw<{ rows: Array<{ user: string; rolsuper: boolean; rolbypassrls: boolean }> }>(
          'select current_user as user, rolsuper, rolbypassrls from pg_roles where rolname = current_user',
        );
        return r.rows[0];
      });
      expect(row).toEqual({ user: t.config.dbAppRole, rolsuper: false, rolbypassrls: false });
      expect(t.db.appRole).toBe(t.config.dbAppRole);
    });
  });
});
