/**
 * The real process, started the way the README says (`node --import tsx src/main.ts` from the
 * repository root): first start on the embedded default prints a platform admin key once, keeps
 * its data and key file in DATA_DIR, drains on SIGTERM and exits 0, and a restart finds its data.
 * With DATABASE_URL and REDIS_URL it runs on PostgreSQL and Redis instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempPgDatabase } from '../helpers/databases.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY_BANNER = /Platform admin API key \(shown once, store it now\):\s+(\S+)/;

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** the service's own variables removed from the test runner's environment, then `env` added */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PIP_|OPAL_|DATABASE_URL$|REDIS_URL$|PORT$|HOST$|DATA_DIR$|LOG_LEVEL$|VITEST|NODE_OPTIONS$)/.test(k)));
  return { ...base, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
}

async function start(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: childEnv({ ...env, PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, port, output: () => out, exited };
}

async function waitHealthy(run: Running, timeoutMs = 90_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (run.child.exitCode !== null) throw new Error(`the service exited with ${run.child.exitCode}:\n${run.output()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${run.port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return r.json();
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`no healthy /healthz within ${timeoutMs} ms:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(run: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 25 s of SIGTERM:\n${run.output()}`)), 25_000).unref());
  const r = await Promise.race([run.exited, timeout]);
  return { ...r, ms: Date.now() - t0 };
}

const get = (run: Running, url: string, key?: string) =>
  fetch(`http://127.0.0.1:${run.port}${url}`, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(10_000) });

describe('the service process', () => {
  it('starts on the embedded default, prints a platform admin key once, drains on SIGTERM and keeps its data across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-start-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    const first = await start({ DATA_DIR: dataDir });
    const health = await waitHealthy(first);
    expect(health).toMatchObject({ status: 'ok', checks: { database: { status: 'ok', kind: 'embedded' }, cache: { status: 'ok', kind: 'memory' } } });
    const key = KEY_BANNER.exec(first.output())?.[1];
    expect(key, first.output()).toMatch(/^pip_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    // printed once, outside the JSON log lines
    expect(first.output().split(key!).length - 1).toBe(1);

    const tenants = await get(first, '/pip/tenants', key);
    expect(tenants.status).toBe(200);
    expect(((await tenants.json()) as { items: Array<{ id: string }> }).items.map((x) => x.id)).toContain('default');
    expect((await get(first, '/pip/tenants')).status).toBe(401);
    const created = await fetch(`http://127.0.0.1:${first.port}/pip/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'persisted', name: 'Survives a restart' }),
    });
    expect(created.status).toBe(201);
    expect((await get(first, '/readyz')).status).toBe(200);

    const keyFile = path.join(dataDir, 'encryption-keys');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(true);

    const stopped = await stop(first);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(first.output()).toMatch(/shutting down/);

    const second = await start({ DATA_DIR: dataDir });
    await waitHealthy(second);
    expect(second.output()).not.toMatch(KEY_BANNER);
    expect(second.output()).not.toContain(key!);
    expect((await get(second, '/pip/tenants', key)).status).toBe(200);
    const persisted = await get(second, '/pip/tenants/persisted', key);
    expect(persisted.status).toBe(200);
    expect(await persisted.json()).toMatchObject({ id: 'persisted', name: 'Survives a restart', status: 'active' });
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(await stop(second)).toMatchObject({ code: 0, signal: null });
  }, 240_000);

  it('runs on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set, with the bootstrap key from the environment', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-start-pg-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const db = await createTempPgDatabase();
    cleanups.push(() => db.drop());
    const key = `bootstrap-${crypto.randomBytes(24).toString('hex')}`;

    const run = await start({ DATA_DIR: dataDir, DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, PIP_BOOTSTRAP_ADMIN_KEY: key });
    const health = await waitHealthy(run);
    expect(health).toMatchObject({ status: 'ok', checks: { database: { status: 'ok', kind: 'postgres' }, cache: { status: 'ok', kind: 'redis' } } });
    // the operator chose the key: nothing is printed, and it works
    expect(run.output()).not.toMatch(KEY_BANNER);
    expect(run.output()).not.toContain(key);
    expect((await get(run, '/pip/tenants', key)).status).toBe(200);
    // no embedded database was created
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
    expect(await stop(run)).toMatchObject({ code: 0, signal: null });
  }, 240_000);

  it('keeps serving from the store with /healthz degraded (not down) while Redis is unreachable', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-start-noredis-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const closedPort = await freePort();
    const key = `bootstrap-${crypto.randomBytes(24).toString('hex')}`;
    const run = await start({ DATA_DIR: dataDir, REDIS_URL: `redis://127.0.0.1:${closedPort}`, PIP_BOOTSTRAP_ADMIN_KEY: key });
    const until = Date.now() + 90_000;
    let health: any;
    for (;;) {
      if (run.child.exitCode !== null) throw new Error(run.output());
      const r = await fetch(`http://127.0.0.1:${run.port}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (r) {
        expect(r.status).toBe(200);
        health = await r.json();
        break;
      }
      if (Date.now() > until) throw new Error(run.output());
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(health).toMatchObject({ status: 'degraded', checks: { database: { status: 'ok' }, cache: { status: 'down' } } });
    expect((await get(run, '/readyz')).status).toBe(200);
    expect((await get(run, '/pip/tenants', key)).status).toBe(200);
    expect(await stop(run)).toMatchObject({ code: 0, signal: null });
  }, 240_000);

  it('stops at start with exit code 2 and a message naming the variable when the configuration is invalid', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-start-bad-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const run = await start({ DATA_DIR: dataDir, PIP_BOOTSTRAP_ADMIN_KEY: 'too-short' });
    const r = await Promise.race([run.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(run.output())), 30_000).unref())]);
    expect(r.code).toBe(2);
    expect(run.output()).toMatch(/PIP_BOOTSTRAP_ADMIN_KEY/);
  }, 60_000);
});
