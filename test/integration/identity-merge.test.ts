/**
 * Two identity providers that know the same person: Entra ID (Graph fake) and Okta (Okta fake)
 * synced through the service. The OPA document has one user for that email, with both sources,
 * and the group memberships of both providers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { syncAndWait } from '../helpers/sync.ts';
import { tenantKey } from '../helpers/opal.ts';
import { graphUser, startGraphFake, type GraphFake } from '../fakes/graph.ts';
import { startFakeOkta, type FakeOkta } from '../fakes/okta.ts';

const SECRET = 'graph-client-secret-value';

describe('identity merge across providers', () => {
  let t: TestApp;
  let graph: GraphFake;
  let okta: FakeOkta;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });

  beforeAll(async () => {
    [t, graph, okta] = await Promise.all([startTestApp('postgres', {}, { worker: true }), startGraphFake({ clientSecret: SECRET }), startFakeOkta()]);
    for (let i = 1; i <= 5; i++) graph.addUser(graphUser(i));
    // Okta knows user 3 of the Entra tenant under the same email (other case), plus someone else
    okta.addUser({ login: 'user00003@contoso.com', firstName: 'Three', lastName: 'Okta' });
    okta.addUser({ login: 'only-in-okta@example.com' });
  });
  afterAll(async () => {
    await t?.close();
    await graph?.close();
    await okta?.close();
  });

  async function connect(name: string, type: string, config: Record<string, unknown>) {
    const c = await api('POST', '/pip/connections', { name, type, config });
    expect(c.statusCode, c.body).toBe(201);
    const id = c.json().id as string;
    expect((await api('POST', `/pip/connections/${id}/discover`)).statusCode).toBe(200);
    const m = await api('PUT', `/pip/connections/${id}/streams`, { streams: [{ name: 'users' }, { name: 'groups' }, { name: 'memberships' }] });
    expect(m.statusCode, m.body).toBe(200);
    expect(await syncAndWait(t, id)).toMatchObject({ status: 'succeeded' });
    return id;
  }

  it('publishes one user for one email known to two providers, listing both sources', async () => {
    await connect('entra', 'azure_ad', { tenantId: graph.tenantId, clientId: graph.clientId, authMethod: 'client_secret', clientSecret: SECRET, authorityUrl: graph.origin, graphUrl: graph.graphUrl });
    await connect('okta', 'okta', { orgUrl: okta.url, apiToken: okta.apiToken });

    const key = await tenantKey(t, 'default', 'opal');
    const r = await t.app.inject({ method: 'GET', url: '/opal/pip-data/default/users', headers: { authorization: `Bearer ${key}` } });
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    const users = r.json() as Record<string, { email?: string; sources: Record<string, string> }>;

    const merged = users['user00003@contoso.com'];
    expect(merged, JSON.stringify(Object.keys(users))).toBeDefined();
    expect(Object.keys(merged!.sources).sort()).toEqual(['entra', 'okta']);
    expect(merged!.sources.entra).toBe(graphUser(3).id);
    // one entry per person: 5 from Entra + 1 only in Okta
    const emails = Object.keys(users).filter((k) => k.includes('@'));
    expect(emails.sort()).toEqual(['only-in-okta@example.com', 'user00001@contoso.com', 'user00002@contoso.com', 'user00003@contoso.com', 'user00004@contoso.com', 'user00005@contoso.com']);
  });
});
