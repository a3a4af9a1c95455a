import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import type { TestApp } from '../helpers/app.ts';
import { startListeningApp } from '../helpers/opal.ts';
import { commitRevision, recordSyncOutcome } from '../helpers/record-fixtures.ts';
import { seedExample, type SeededTenant } from '../../opal/seed.ts';
import { startFakeOpalServer, type FakeOpalServer } from '../fakes/opal-server.ts';
import { FakeOpalClient } from '../fakes/opal-client.ts';

const DATASOURCE_TOKEN = 'opal-datasource-jwt-for-tests';

describe.each(BACKENDS)('publishing data updates to OPAL on %s', (backend) => {
  let t: TestApp & { baseUrl: string };
  let opal: FakeOpalServer;
  let acme: SeededTenant;
  let globex: SeededTenant;
  const h = () => ({ db: t.db, revisions: t.services.revisions });
  const status = async (tenant: string, connectionId: string) => {
    const r = await t.app.inject({ method: 'GET', url: `/pip/connections/${connectionId}/opal-status`, headers: { ...t.auth(), 'x-pip-tenant': tenant } });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };

  beforeAll(async () => {
    opal = await startFakeOpalServer();
    t = await startListeningApp(backend, {
      OPAL_SERVER_URL: opal.url,
      OPAL_DATASOURCE_TOKEN: DATASOURCE_TOKEN,
      PIP_OPAL_PUBLISH_WINDOW_MS: '300',
      PIP_OPAL_PUBLISH_RETRY_BASE_MS: '50',
      PIP_OPAL_PUBLISH_MAX_ATTEMPTS: '3',
      PIP_OPAL_META_REFRESH_SECONDS: '0',
    });
    // seeding emits nothing: the publisher only sees the revisions of the tests
    acme = await seedExample({ db: t.db }, { tenantId: 'acme', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
    globex = await seedExample({ db: t.db }, { tenantId: 'globex', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
  });
  afterAll(async () => {
    await t?.close();
    await opal?.close();
  });
  beforeEach(async () => {
    await t.services.opal.publisher.idle();
    opal.requests.length = 0;
  });

  it('sends one coalesced update per tenant per burst, naming only the changed dst_paths with tenant topics', async () => {
    await commitRevision(h(), { tenantId: 'acme', connectionId: acme.app, changedStreams: ['documents'] });
    await commitRevision(h(), { tenantId: 'acme', connectionId: acme.crm, changedStreams: ['accounts'] });
    await commitRevision(h(), { tenantId: 'acme', connectionId: acme.app, changedStreams: ['projects'], reason: 'webhook' });
    await commitRevision(h(), { tenantId: 'globex', connectionId: globex.corp, changedStreams: ['memberships'] });
    await opal.waitFor((r) => r.length >= 2);
    await t.services.opal.publisher.idle();
    expect(opal.requests).toHaveLength(2);

    const byTenant = Object.fromEntries(opal.requests.map((r) => [r.body.entries[0]!.topics[0], r]));
    const a = byTenant['policy_data/acme']!;
    expect(a.headers.authorization).toBe(`Bearer ${DATASOURCE_TOKEN}`);
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    expect(a.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.body.reason).toContain('revision');
    expect(a.body.entries.map((e) => e.dst_path)).toEqual(['/pip/acme/sources/app_db', '/pip/acme/sources/legacy_crm', '/pip/acme/meta']);
    for (const e of a.body.entries) {
      expect(e.topics).toEqual(['policy_data/acme']);
      expect(e.url).toBe(`${t.baseUrl}/opal/pip-data/acme/${e.dst_path.slice('/pip/acme/'.length)}?rev=${a.body.reason!.match(/revision (\d+)/)![1]}`);
      expect(e.config!.headers!.Authorization).toMatch(/^Bearer ey/);
    }
    // an identity change republishes users and groups, and nothing of another tenant
    const g = byTenant['policy_data/globex']!;
    expect(g.body.entries.map((e) => e.dst_path)).toEqual(['/pip/globex/users', '/pip/globex/groups', '/pip/globex/sources/corp_idp', '/pip/globex/meta']);
    expect(JSON.stringify(g.body)).not.toContain('acme');

    // the entries work as sent: an OPAL client applying them gets the data
    const client = new FakeOpalClient(['policy_data/acme']);
    expect((await client.apply(a.body.entries as any)).failures).toEqual([]);
    expect((client.get('pip/acme/sources/app_db/documents') as Record<string, unknown>).d1).toBeDefined();
    // ...and their token reads nothing of globex
    const cross = await fetch(`${t.baseUrl}/opal/pip-data/globex/users`, { headers: a.body.entries[0]!.config!.headers });
    expect(cross.status).toBe(403);

    const st = await status('acme', acme.app);
    expect(st.publications[0]).toMatchObject({ id: a.body.id, outcome: 'succeeded', attempts: 1, error: null, trigger: 'revision' });
    expect(st.publications[0].dst_paths).toContain('/pip/acme/sources/app_db');
  });

  it('retries failures with backoff and shows them in opal-status; gives up after the last attempt', async () => {
    opal.failNext(2, 503);
    await commitRevision(h(), { tenantId: 'acme', connectionId: acme.app, changedStreams: ['documents'] });
    await opal.waitFor((r) => r.some((x) => x.status === 200));
    await t.services.opal.publisher.idle();
    expect(opal.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(opal.requests.map((r) => r.body.id)).size).toBe(1);
    let st = await status('acme', acme.app);
    expect(st.publications[0]).toMatchObject({ outcome: 'succeeded', attempts: 3, http_status: 200 });

    opal.requests.length = 0;
    opal.failNext(3, 500);
    await commitRevision(h(), { tenantId: 'acme', connectionId: acme.app, changedStreams: ['projects'] });
    await opal.waitFor((r) => r.length >= 3);
    await t.services.opal.publisher.idle();
    st = await status('acme', acme.app);
    expect(st.publications[0]).toMatchObject({ outcome: 'failed', attempts: 3, http_status: 500 });
    expect(st.publications[0].error).toContain('OPAL server answered 500');
    expect(st.publications[0].error).not.toContain(DATASOURCE_TOKEN);
  });

  it('publishes a connection on demand and records the reports OPAL clients post back', async () => {
    const r = await t.app.inject({ method: 'POST', url: `/pip/connections/${acme.corp}/publish-to-opal`, headers: { ...t.auth(), 'x-pip-tenant': 'acme' } });
    expect(r.statusCode, r.body).toBe(202);
    expect(r.headers.location).toBe(`/pip/connections/${acme.corp}/opal-status`);
    await opal.waitFor((x) => x.length >= 1);
    await t.services.opal.publisher.idle();
    const update = opal.requests[0]!.body;
    expect(update.id).toBe(r.json().publication_id);
    expect(update.entries.map((e) => e.dst_path)).toEqual(['/pip/acme/users', '/pip/acme/groups', '/pip/acme/sources/corp_idp', '/pip/acme/meta']);

    // the OPAL client reports to the callback with the headers we put in the update
    const [url, cfg] = update.callback!.callbacks[0] as [string, { method: string; headers: Record<string, string> }];
    expect(url).toBe(`${t.baseUrl}/opal/callback`);
    expect(cfg.method).toBe('post');
    const report = { update_id: update.id, reports: update.entries.map((e) => ({ entry: e, fetched: true, saved: true, hash: 'abc' })), user_data: {} };
    // OPAL sends the report as a JSON string body (text/plain)
    const cb = await fetch(url, { method: 'POST', headers: { ...cfg.headers, 'content-type': 'text/plain; charset=utf-8' }, body: JSON.stringify(report) });
    expect(cb.status).toBe(200);
    const unauth = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
    expect(unauth.status).toBe(401);

    const st = await status('acme', acme.corp);
    expect(st.publications[0]).toMatchObject({ id: update.id, trigger: 'manual', outcome: 'succeeded' });
    expect(st.reports[0]).toMatchObject({ update_id: update.id, ok: true });
    expect(st.reports[0].entries[0]).toMatchObject({ dst_path: '/pip/acme/users', fetched: true, saved: true });
    // the token inside the reported entries' config is never stored or shown
    const authz = update.entries[0]!.config!.headers!.Authorization!;
    expect(JSON.stringify(st)).not.toContain(authz.slice('Bearer '.length));
  });

  it('republishes meta when a sync changes freshness without a new revision', async () => {
    const publisher = t.services.opal.publisher;
    await publisher.watchOnce();
    await publisher.idle();
    opal.requests.length = 0;
    await recordSyncOutcome(h(), { tenantId: 'acme', connectionId: acme.crm, status: 'succeeded', syncedAt: new Date() });
    await publisher.watchOnce();
    await publisher.idle();
    expect(opal.requests).toHaveLength(1);
    expect(opal.requests[0]!.body.entries.map((e) => e.dst_path)).toEqual(['/pip/acme/meta']);
    const meta = await fetch(opal.requests[0]!.body.entries[0]!.url, { headers: opal.requests[0]!.body.entries[0]!.config!.headers });
    expect(((await meta.json()) as any).sources.legacy_crm.stale).toBe(false);
  });
});
