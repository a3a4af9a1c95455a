/** Data plane test helpers: a listening app (OPAL fetches absolute URLs) and API shortcuts. */
import net from 'node:net';
import type { TestApp } from './app.ts';
import { startTestApp } from './app.ts';
import type { Backend } from './env.ts';
import { dataPlaneRegistry } from './record-fixtures.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** the whole service listening on 127.0.0.1 with PIP_PUBLIC_URL pointing at itself */
export async function startListeningApp(backend: Backend, env: Record<string, string> = {}): Promise<TestApp & { baseUrl: string }> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const t = await startTestApp(backend, { PIP_PUBLIC_URL: baseUrl, ...env }, { registry: dataPlaneRegistry() });
  await t.app.listen({ port, host: '127.0.0.1' });
  return Object.assign(t, { baseUrl });
}

/** creates an API key in a tenant (as platform admin) and returns it */
export async function tenantKey(t: TestApp, tenantId: string, role: 'admin' | 'editor' | 'viewer' | 'opal'): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': tenantId }, payload: { name: `${role}-${tenantId}`, role } });
  if (r.statusCode !== 201) throw new Error(`api key: ${r.statusCode} ${r.body}`);
  return r.json().key;
}

/** the tenant's OPAL config (entries with a data token) as an admin sees it */
export async function opalConfig(t: TestApp, tenantId: string): Promise<{ config: { entries: any[] } }> {
  const r = await t.app.inject({ method: 'GET', url: '/pip/opal/config', headers: { ...t.auth(), 'x-pip-tenant': tenantId } });
  if (r.statusCode !== 200) throw new Error(`opal config: ${r.statusCode} ${r.body}`);
  return r.json();
}

export async function dataToken(t: TestApp, tenantId: string): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: '/pip/opal/data-token', headers: { ...t.auth(), 'x-pip-tenant': tenantId } });
  if (r.statusCode !== 201) throw new Error(`data token: ${r.statusCode} ${r.body}`);
  return r.json().token;
}
