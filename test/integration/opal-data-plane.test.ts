import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import type { TestApp } from '../helpers/app.ts';
import { startListeningApp, opalConfig, dataToken } from '../helpers/opal.ts';
import { commitRevision, putRecords, streamMapping, insertConnection } from '../helpers/record-fixtures.ts';
import { FakeOpalClient } from '../fakes/opal-client.ts';
import { seedExample, type SeededTenant } from '../../opal/seed.ts';

const TENANT = 'acme';

describe.each(BACKENDS)('OPA data plane on %s', (backend) => {
  let t: TestApp & { baseUrl: string };
  let ids: SeededTenant;
  let token: string;
  const store = () => ({ db: t.db, revisions: t.services.revisions });
  const get = (path: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}`, ...headers } });

  beforeAll(async () => {
    // small split size so the big source below is published per stream
    t = await startListeningApp(backend, { PIP_OPAL_ENTRY_SPLIT_BYTES: '4096', PIP_OPAL_DOCUMENT_WARN_BYTES: '4096' });
    ids = await seedExample({ db: t.db, revisions: t.services.revisions }, { tenantId: TENANT, identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
    const big = await insertConnection(store(), { tenantId: TENANT, name: 'warehouse', type: 'fake', streams: [streamMapping('items', [['id', 'internal'], ['label', 'internal']]), streamMapping('bins', [['id', 'internal']])] });
    await putRecords(store(), { tenantId: TENANT, connectionId: big, stream: 'items', records: Array.from({ length: 200 }, (_, i) => ({ id: `i${i}`, label: `item number ${i}` })) });
    await putRecords(store(), { tenantId: TENANT, connectionId: big, stream: 'bins', records: [{ id: 'b1' }] });
    await commitRevision(store(), { tenantId: TENANT, connectionId: big, changedStreams: ['items', 'bins'] });
    token = await dataToken(t, TENANT);
  });
  afterAll(async () => t?.close());

  it('an OPAL client fetching the entries of /opal/data-sources ends up with the documented layout', async () => {
    const { config } = await opalConfig(t, TENANT);
    const entries = config.entries;
    // one entry per dst_path, never the tenant root, tenant topic on each
    const paths = entries.map((e: { dst_path: string }) => e.dst_path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).toEqual([
      '/pip/acme/users', '/pip/acme/groups',
      '/pip/acme/sources/corp_idp', '/pip/acme/sources/hr', '/pip/acme/sources/app_db', '/pip/acme/sources/legacy_crm',
      '/pip/acme/sources/warehouse/items', '/pip/acme/sources/warehouse/bins',
      '/pip/acme/meta',
    ]);
    for (const e of entries) {
      expect(e.topics).toEqual(['policy_data/acme']);
      expect(e.config.headers.Authorization).toMatch(/^Bearer ey/);
    }

    const client = new FakeOpalClient(['policy_data/acme']);
    const { failures } = await client.apply(entries);
    expect(failures).toEqual([]);
    const tree = client.get('pip/acme') as any;

    // the whole document, fetched at once, is what the entries assembled
    const whole = await get('/opal/pip-data/acme');
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toMatch(/^application\/json/);
    expect(tree).toEqual(whole.json());

    // users merged across sources by lowercased email, transitive groups, roles through groups
    const alice = tree.users['alice@example.com'];
    expect(alice).toMatchObject({
      id: 'alice@example.com', email: 'Alice@Example.com', username: 'alice', display_name: 'Alice Liddell', department: 'R&D', title: 'Staff Engineer',
      groups: ['engineering', 'platform'], roles: ['deployer'], manager: 'carol@example.com',
      attributes: { cost_center: 'cc-100' }, sources: { corp_idp: 'u1', hr: 'E-1001' },
    });
    expect(tree.users['dave@example.com']).toMatchObject({ groups: ['engineering'], roles: ['deployer'], sources: { hr: 'E-1002' } });
    expect(tree.users['bob@example.com'].groups).toEqual(['engineering', 'loop-a', 'loop-b']);
    expect(tree.users['carol@example.com'].roles).toEqual(['admin']);
    expect(tree.users['mallory@example.com']).toMatchObject({ status: 'suspended', roles: ['viewer'], groups: ['auditors'] });
    expect(tree.users['corp_idp:u4']).toMatchObject({ username: 'svc-backup', sources: { corp_idp: 'u4' } });
    expect(tree.groups.engineering).toMatchObject({ members: ['bob@example.com', 'dave@example.com'], member_groups: ['platform'], roles: ['deployer'], source: 'corp_idp', sources: { corp_idp: 'g1', hr: 'HG-1' } });
    expect(tree.groups.platform).toMatchObject({ members: ['alice@example.com'], roles: ['deployer'] });

    // sources.<connection>.<stream>.<key>: mapped fields, restricted ones left out
    expect(tree.sources.app_db.documents.d1).toEqual({ id: 'd1', title: 'Roadmap', owner_email: 'alice@example.com', classification: 'internal' });
    expect(tree.sources.app_db.projects.p1).toEqual({ id: 'p1', name: 'Atlas', owner_group: 'platform' });
    expect(tree.sources.corp_idp.users.u1.email).toBe('Alice@Example.com');
    expect(Object.keys(tree.sources.warehouse.items)).toHaveLength(200);

    // meta: revision, generated_at, per source type / synced_at / status / stale
    expect(tree.meta).toMatchObject({ tenant: 'acme', revision: 5 });
    expect(Date.parse(tree.meta.generated_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(tree.meta.sources.app_db).toMatchObject({ id: ids.app, type: 'fake', category: 'database', status: 'succeeded', stale: false, streams: { documents: { records: 3 } } });
    expect(tree.meta.sources.corp_idp).toMatchObject({ type: 'fake_idp', category: 'identity' });
    expect(tree.meta.sources.legacy_crm.stale).toBe(true);

    // no nulls anywhere, no restricted value anywhere
    const text = whole.body;
    expect(text).not.toContain('null');
    expect(text).not.toContain('078-05-1120');
  });

  it('keeps the old tree when the store fails: every fetch answers >= 400 with a JSON error, never partial data', async () => {
    const { config } = await opalConfig(t, TENANT);
    const client = new FakeOpalClient(['policy_data/acme']);
    await client.apply(config.entries);
    const before = structuredClone(client.tree);

    // a new revision (so nothing cached applies) and then the database goes away
    await commitRevision(store(), { tenantId: TENANT, connectionId: ids.app, changedStreams: ['documents'] });
    const withTenant = t.db.withTenant;
    t.db.withTenant = (async () => {
      throw new Error('connection terminated unexpectedly');
    }) as typeof withTenant;
    try {
      const { applied, failures } = await client.apply(config.entries);
      expect(applied).toEqual([]);
      expect(failures).toHaveLength(config.entries.length);
      for (const f of failures) expect(f.status).toBeGreaterThanOrEqual(400);
      expect(client.tree).toEqual(before);
      const r = await get('/opal/pip-data/acme/users');
      expect(r.statusCode).toBe(503);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json().error.code).toBe('PIP_DATA_UNAVAILABLE');
      expect(r.body).not.toContain('terminated');
    } finally {
      t.db.withTenant = withTenant;
    }
    const again = await client.apply(config.entries);
    expect(again.failures).toEqual([]);
  });

  it('serves pre-built bytes: gzip when accepted, ETag per version, 304 on If-None-Match, a new ETag after a new revision', async () => {
    const plain = await get('/opal/pip-data/acme/sources/app_db');
    expect(plain.statusCode).toBe(200);
    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{10,}"$/);

    const gz = await get('/opal/pip-data/acme/sources/app_db', { 'accept-encoding': 'gzip, deflate' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(zlib.gunzipSync(gz.rawPayload).toString())).toEqual(plain.json());

    const notModified = await get('/opal/pip-data/acme/sources/app_db', { 'if-none-match': etag });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');

    // by connection id too, same bytes
    expect((await get(`/opal/pip-data/acme/sources/${ids.app}`)).body).toBe(plain.body);
    expect((await get('/opal/pip-data/acme/sources/app_db/documents')).json()).toEqual(plain.json().documents);
    expect((await get('/opal/pip-data/acme/sources/nope')).statusCode).toBe(404);

    await putRecords(store(), { tenantId: TENANT, connectionId: ids.app, stream: 'documents', records: [{ id: 'd4', title: 'New', owner_email: 'dave@example.com', classification: 'internal' }] });
    await commitRevision(store(), { tenantId: TENANT, connectionId: ids.app, changedStreams: ['documents'] });
    const changed = await get('/opal/pip-data/acme/sources/app_db', { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.json().documents.d4.title).toBe('New');
  });

  it('builds once per version and keeps serving when the cache is down; /healthz reports degraded', async () => {
    const builds = async () => (await t.services.metrics.registry.getSingleMetric('pip_opal_document_builds_total')!.get()).values.find((v) => v.labels.outcome === 'built')?.value ?? 0;
    await get('/opal/pip-data/acme');
    const b0 = await builds();
    for (let i = 0; i < 5; i++) expect((await get('/opal/pip-data/acme/meta')).statusCode).toBe(200);
    expect(await builds()).toBe(b0);

    const cache = t.cache;
    const saved = { get: cache.get, set: cache.set, ping: cache.ping };
    const down = async () => {
      throw new Error('ECONNREFUSED');
    };
    Object.assign(cache, { get: down, set: down, ping: down });
    try {
      await commitRevision(store(), { tenantId: TENANT, connectionId: ids.crm, changedStreams: ['accounts'] });
      const r = await get('/opal/pip-data/acme/users');
      expect(r.statusCode).toBe(200);
      expect(r.json()['alice@example.com']).toBeDefined();
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ status: 'degraded', checks: { cache: { status: 'down' }, database: { status: 'ok' } } });
      const errors = (await t.services.metrics.registry.getSingleMetric('pip_opal_cache_errors_total')!.get()).values.reduce((n, v) => n + v.value, 0);
      expect(errors).toBeGreaterThan(0);
    } finally {
      Object.assign(cache, saved);
    }
  });

  it('caches a document for the TTL of the most sensitive field it carries', async () => {
    const ttls: number[] = [];
    const set = t.cache.set.bind(t.cache);
    t.cache.set = async (k, v, ttl) => {
      ttls.push(ttl);
      return set(k, v, ttl);
    };
    try {
      // confidential fields (emails) are published: confidential TTL
      await commitRevision(store(), { tenantId: TENANT, connectionId: ids.crm, changedStreams: ['accounts'] });
      await get('/opal/pip-data/acme/meta');
      expect(ttls.at(-1)).toBe(t.config.opal.cacheTtlSeconds.confidential);

      // the admin allows publishing the restricted field: restricted TTL
      const mapping = streamMapping('public.documents', [['id', 'internal'], ['title', 'internal'], ['owner_email', 'confidential'], ['classification', 'internal'], ['ssn', 'restricted', true]], { target: 'documents' });
      const projects = streamMapping('public.projects', [['id', 'internal'], ['name', 'internal'], ['owner_group', 'internal']], { target: 'projects' });
      await t.db.withTenant(TENANT, (trx) => trx('connections').where({ id: ids.app }).update({ streams: JSON.stringify([mapping, projects]), updated_at: trx.raw('clock_timestamp()') }));
      // a mapping saved by another process shows within PIP_OPAL_VERSION_CHECK_MS; here, at once
      t.services.opal.documents.invalidate(TENANT);
      const doc = await get('/opal/pip-data/acme/sources/app_db');
      expect(doc.json().documents.d1.ssn).toBe('078-05-1120');
      expect(ttls.at(-1)).toBe(t.config.opal.cacheTtlSeconds.restricted);
    } finally {
      t.cache.set = set;
    }
  });

  it('hashes confidential fields when the connection asks for it; the admin snapshot masks restricted fields', async () => {
    const admin = { ...t.auth(), 'x-pip-tenant': TENANT };
    const put = await t.app.inject({ method: 'PUT', url: `/pip/connections/${ids.app}/opal-settings`, headers: admin, payload: { hash_confidential: true, fields: { 'projects.owner_group': 'omit' } } });
    expect(put.statusCode, put.body).toBe(200);
    const doc = (await get('/opal/pip-data/acme/sources/app_db')).json();
    const sha = (await import('node:crypto')).createHash('sha256').update('alice@example.com').digest('hex');
    expect(doc.documents.d1.owner_email).toBe(sha);
    expect(doc.projects.p1).toEqual({ id: 'p1', name: 'Atlas' });

    const snap = await t.app.inject({ method: 'GET', url: `/pip/connections/${ids.app}/data-snapshot`, headers: admin });
    expect(snap.statusCode, snap.body).toBe(200);
    expect(snap.json().streams.documents.records.d1).toMatchObject({ owner_email: sha, ssn: '[restricted]' });
    expect(snap.body).not.toContain('078-05-1120');
    await t.app.inject({ method: 'PUT', url: `/pip/connections/${ids.app}/opal-settings`, headers: admin, payload: {} });
  });

  it('counts and warns about documents past the size threshold', async () => {
    const body = (await get('/opal/pip-data/acme')).body;
    const oversize = (await t.services.metrics.registry.getSingleMetric('pip_opal_document_oversize_total')!.get()).values.find((v) => v.labels.tenant === TENANT)?.value ?? 0;
    expect(oversize).toBeGreaterThan(0);
    const bytes = (await t.services.metrics.registry.getSingleMetric('pip_opal_document_bytes')!.get()).values.find((v) => v.labels.tenant === TENANT)?.value ?? 0;
    expect(bytes).toBe(Buffer.byteLength(body));
  });
});
