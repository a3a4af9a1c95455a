import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import type { TestApp } from '../helpers/app.ts';
import { startListeningApp, dataToken, tenantKey } from '../helpers/opal.ts';
import { commitRevision, putRecords } from '../helpers/record-fixtures.ts';
import { seedExample, type SeededTenant } from '../../opal/seed.ts';

/** reads a tar (ustar + pax path records) into path → bytes */
function untar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let at = 0;
  let paxPath: string | undefined;
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim(), 8);
    const type = String.fromCharCode(h[156]!);
    const data = buf.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      paxPath = /\d+ path=(.*)\n/.exec(data.toString('utf8'))?.[1];
      continue;
    }
    files.set(paxPath ?? name, Buffer.from(data));
    paxPath = undefined;
  }
  return files;
}

describe.each(BACKENDS)('tenant isolation of the data plane on %s', (backend) => {
  let t: TestApp & { baseUrl: string };
  let acme: SeededTenant;
  let globex: SeededTenant;
  let acmeToken: string;

  beforeAll(async () => {
    t = await startListeningApp(backend);
    acme = await seedExample({ db: t.db }, { tenantId: 'acme', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
    globex = await seedExample({ db: t.db }, { tenantId: 'globex', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
    // data only globex has, to look for in answers
    await putRecords({ db: t.db }, { tenantId: 'globex', connectionId: globex.app, stream: 'documents', records: [{ id: 'gx-secret', title: 'GLOBEX-ONLY-TITLE', owner_email: 'hank@globex.test', classification: 'secret' }] });
    await commitRevision({ db: t.db }, { tenantId: 'globex', connectionId: globex.app, changedStreams: ['documents'] });
    acmeToken = await dataToken(t, 'acme');
  });
  afterAll(async () => t?.close());

  const routes = (tenant: string, s: SeededTenant) => [
    `/opal/pip-data/${tenant}`,
    `/opal/pip-data/${tenant}/users`,
    `/opal/pip-data/${tenant}/groups`,
    `/opal/pip-data/${tenant}/meta`,
    `/opal/pip-data/${tenant}/sources/app_db`,
    `/opal/pip-data/${tenant}/sources/${s.app}`,
    `/opal/pip-data/${tenant}/sources/app_db/documents`,
    `/opa/bundles/${tenant}.tar.gz`,
  ];

  it("answers every pip-data and bundle route of another tenant with 403 and none of its data, for tokens and opal keys", async () => {
    const acmeOpalKey = await tenantKey(t, 'acme', 'opal');
    for (const credential of [acmeToken, acmeOpalKey]) {
      for (const url of routes('globex', globex)) {
        for (const headers of [{}, { 'accept-encoding': 'gzip' }]) {
          const r = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${credential}`, ...headers } });
          expect([403, 404], `${url}: ${r.statusCode}`).toContain(r.statusCode);
          expect(r.headers['content-type']).toMatch(/^application\/json/);
          expect(r.body).not.toMatch(/GLOBEX-ONLY-TITLE|hank@globex|alice@example|Roadmap/);
          expect(Object.keys(r.json())).toEqual(['error']);
        }
      }
      // and its own tenant answers
      for (const url of routes('acme', acme)) {
        const r = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${credential}` } });
        expect(r.statusCode, `${url}: ${r.body.slice(0, 200)}`).toBe(200);
        expect(r.body).not.toContain('GLOBEX-ONLY-TITLE');
      }
    }
    // a tenant that does not exist, and no credential at all
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/nobody', headers: { authorization: `Bearer ${acmeToken}` } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/opa/bundles/acme.tar.gz' })).statusCode).toBe(401);
  });

  it('refuses viewer keys, tampered tokens and revoked tokens', async () => {
    const viewer = await tenantKey(t, 'acme', 'viewer');
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme', headers: { authorization: `Bearer ${viewer}` } })).statusCode).toBe(403);
    const [h, p, s] = acmeToken.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), tenant: 'globex' })).toString('base64url')}.${s}`;
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/globex', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);

    const token = await dataToken(t, 'acme');
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme/meta', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    const revoke = await t.app.inject({ method: 'POST', url: '/pip/opal/data-token/revoke', headers: { ...t.auth(), 'x-pip-tenant': 'acme' } });
    expect(revoke.statusCode, revoke.body).toBe(200);
    expect(revoke.json().token_version).toBeGreaterThan(1);
    for (const tok of [token, acmeToken]) {
      const r = await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme/meta', headers: { authorization: `Bearer ${tok}` } });
      expect(r.statusCode).toBe(401);
    }
    acmeToken = await dataToken(t, 'acme');
    expect((await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme/meta', headers: { authorization: `Bearer ${acmeToken}` } })).statusCode).toBe(200);
    // a tenant key cannot revoke another tenant's tokens
    const acmeAdmin = await tenantKey(t, 'acme', 'admin');
    expect((await t.app.inject({ method: 'POST', url: '/pip/opal/data-token/revoke', headers: { authorization: `Bearer ${acmeAdmin}`, 'x-pip-tenant': 'globex' } })).statusCode).toBe(403);
  });

  it('serves an OPA bundle: .manifest with revision and roots, data.json files at the document paths, ETag and 304', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/opa/bundles/acme.tar.gz', headers: { authorization: `Bearer ${acmeToken}` } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/gzip');
    const files = untar(zlib.gunzipSync(r.rawPayload));
    const manifest = JSON.parse(files.get('.manifest')!.toString());
    expect(manifest.roots).toEqual(['pip/acme']);
    expect(manifest.revision).toMatch(/^\d+-/);
    expect([...files.keys()].sort()).toEqual([
      '.manifest',
      'pip/acme/groups/data.json', 'pip/acme/meta/data.json',
      'pip/acme/sources/app_db/data.json', 'pip/acme/sources/corp_idp/data.json', 'pip/acme/sources/hr/data.json', 'pip/acme/sources/legacy_crm/data.json',
      'pip/acme/users/data.json',
    ]);
    // assembled the way OPA does (directory = data path), the bundle is the document
    const doc: Record<string, any> = { sources: {} };
    for (const [path, bytes] of files) {
      const m = /^pip\/acme\/(.+)\/data\.json$/.exec(path);
      if (!m) continue;
      const parts = m[1]!.split('/');
      if (parts[0] === 'sources') doc.sources[parts[1]!] = JSON.parse(bytes.toString());
      else doc[parts[0]!] = JSON.parse(bytes.toString());
    }
    const whole = (await t.app.inject({ method: 'GET', url: '/opal/pip-data/acme', headers: { authorization: `Bearer ${acmeToken}` } })).json();
    expect(doc).toEqual(whole);

    const again = await t.app.inject({ method: 'GET', url: '/opa/bundles/acme.tar.gz', headers: { authorization: `Bearer ${acmeToken}`, 'if-none-match': r.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    expect((await t.app.inject({ method: 'GET', url: '/opa/bundles/acme.zip', headers: { authorization: `Bearer ${acmeToken}` } })).statusCode).toBe(404);
  });
});
