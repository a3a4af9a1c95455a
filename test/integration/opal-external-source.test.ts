import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { BACKENDS } from '../helpers/env.ts';
import type { TestApp } from '../helpers/app.ts';
import { startListeningApp } from '../helpers/opal.ts';
import { seedExample } from '../../opal/seed.ts';
import { startFakeOpalServer, type FakeOpalServer } from '../fakes/opal-server.ts';
import { FakeOpalClient } from '../fakes/opal-client.ts';

const AUD = 'https://api.opal.ac/v1/';
const ISS = 'https://opal.ac/';

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;

async function clientToken(keys: Keys, claims: Record<string, unknown>, o: { aud?: string; iss?: string; exp?: string | number; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ peer_type: 'client', ...claims })
    .setProtectedHeader({ alg: 'RS256', ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuedAt()
    .setSubject('5f3c8a0b2d1e4f6a9b7c0d1e2f3a4b5c')
    .setAudience(o.aud ?? AUD)
    .setIssuer(o.iss ?? ISS)
    .setExpirationTime(o.exp ?? '1y');
  return jwt.sign(keys.privateKey);
}

describe.each(BACKENDS)('OPAL external data source on %s', (backend) => {
  let t: TestApp & { baseUrl: string };
  let keys: Keys;
  let other: Keys;
  let opal: FakeOpalServer;
  const sources = (token?: string) => t.app.inject({ method: 'GET', url: `/opal/data-sources${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}` });

  beforeAll(async () => {
    keys = await generateKeyPair('RS256');
    other = await generateKeyPair('RS256');
    opal = await startFakeOpalServer();
    t = await startListeningApp(backend, { OPAL_AUTH_PUBLIC_KEY: await exportSPKI(keys.publicKey) });
    opal.externalSourceUrl = `${t.baseUrl}/opal/data-sources`;
    await seedExample({ db: t.db }, { tenantId: 'acme', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
    await seedExample({ db: t.db }, { tenantId: 'globex', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
  });
  afterAll(async () => {
    await t?.close();
    await opal?.close();
  });

  it("answers a valid client token with a bare {entries} of that token's tenant only", async () => {
    const r = await sources(await clientToken(keys, { tenant: 'globex' }));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(Object.keys(body)).toEqual(['entries']);
    expect(body.entries.length).toBeGreaterThan(3);
    for (const e of body.entries) {
      expect(e.dst_path.startsWith('/pip/globex/')).toBe(true);
      expect(e.url.startsWith(`${t.baseUrl}/opal/pip-data/globex/`)).toBe(true);
      expect(e.topics).toEqual(['policy_data/globex']);
    }
    expect(r.body).not.toContain('/acme');
  });

  it('works end to end through the OPAL server redirect: the client gets its entries and then its data', async () => {
    const token = await clientToken(keys, { tenant: 'acme' });
    // the OPAL client asks its server, which redirects to external_source_url?token=<jwt>
    const res = await fetch(`${opal.url}/data/config`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const { entries } = (await res.json()) as { entries: any[] };
    const client = new FakeOpalClient(['policy_data/acme']);
    const { failures, applied } = await client.apply(entries);
    expect(failures).toEqual([]);
    expect(applied).toContain('/pip/acme/users');
    expect((client.get('pip/acme/users') as Record<string, unknown>)['alice@example.com']).toBeDefined();
    // a client subscribed to another tenant's topic applies nothing (OPAL skips non-matching topics)
    const stranger = new FakeOpalClient(['policy_data/globex']);
    expect((await stranger.apply(entries)).applied).toEqual([]);
  });

  it('refuses wrong audience, wrong issuer, expired, unknown key, missing tenant claim and garbage with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      await clientToken(keys, { tenant: 'acme' }, { aud: 'https://someone-else/' }),
      await clientToken(keys, { tenant: 'acme' }, { iss: 'https://evil.example/' }),
      await clientToken(keys, { tenant: 'acme' }, { exp: now - 60 }),
      await clientToken(other, { tenant: 'acme' }),
      await clientToken(keys, { customer: 'acme' }),
      'not-a-jwt',
      '',
    ];
    for (const token of bad) {
      const r = await sources(token);
      expect(r.statusCode, token).toBe(401);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json().error.code).toBe('PIP_UNAUTHORIZED');
      expect(r.body).not.toContain('/pip/acme');
    }
    expect((await sources()).statusCode).toBe(401);
    // an HS256 token made with the public key as secret (algorithm confusion) is refused too
    const confused = await new SignJWT({ tenant: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setAudience(AUD).setIssuer(ISS).setExpirationTime('1h').sign(new TextEncoder().encode(await exportSPKI(keys.publicKey)));
    expect((await sources(confused)).statusCode).toBe(401);
  });

  it('answers 404 for a valid token naming a tenant that does not exist', async () => {
    expect((await sources(await clientToken(keys, { tenant: 'nobody' }))).statusCode).toBe(404);
  });

  it('verifies with a JWKS URL and a custom tenant claim, audience and issuer', async () => {
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
    const t2 = await startListeningApp(backend, {
      OPAL_AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      OPAL_AUTH_AUDIENCE: 'pip-tests',
      OPAL_AUTH_ISSUER: 'https://opal.internal/',
      OPAL_AUTH_TENANT_CLAIM: 'customer_id',
    });
    try {
      await seedExample({ db: t2.db }, { tenantId: 'acme', identityType: 'fake_idp', databaseType: 'fake', now: new Date() });
      const ok = await t2.app.inject({ method: 'GET', url: `/opal/data-sources?token=${await clientToken(keys, { customer_id: 'acme' }, { aud: 'pip-tests', iss: 'https://opal.internal/', kid: 'k1' })}` });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().entries[0].dst_path).toBe('/pip/acme/users');
      const defaults = await t2.app.inject({ method: 'GET', url: `/opal/data-sources?token=${await clientToken(keys, { customer_id: 'acme' }, { kid: 'k1' })}` });
      expect(defaults.statusCode).toBe(401);
      const unknownKid = await t2.app.inject({ method: 'GET', url: `/opal/data-sources?token=${await clientToken(other, { customer_id: 'acme' }, { aud: 'pip-tests', iss: 'https://opal.internal/', kid: 'k2' })}` });
      expect(unknownKid.statusCode).toBe(401);
    } finally {
      await t2.close();
      jwks.closeAllConnections();
      await new Promise<void>((r) => jwks.close(() => r()));
    }
  });
});
