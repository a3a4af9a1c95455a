/**
 * Serving throughput of /opal/pip-data next to nginx serving the same bytes from a file.
 *
 *   node --import tsx bench/serve.ts [--seconds 10] [--connections 64]
 *
 * Builds a 1 MB and a 20 MB tenant document in an embedded (in-memory) store, starts the service
 * on a loopback port, starts nginx (Debian package `nginx`) on another loopback port with a
 * temporary config serving the document bytes from files, and drives each with the same load
 * generator (keep-alive HTTP/1.1, N concurrent clients, each response read to the last byte) in
 * a child process, once without and once with `Accept-Encoding: gzip` (what OPAL's aiohttp client
 * sends; nginx then serves a pre-compressed .gz with gzip_static). Prints requests/s, p50/p99
 * latency and MB/s on the wire, and the service/nginx ratio.
 * Figures only: nothing here asserts a timing. Needs `nginx` on PATH (apt-get install -y nginx).
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createCache } from '../src/cache/cache.ts';
import { keyringFromString } from '../src/secrets/keyring.ts';
import { createServices } from '../src/container.ts';
import { buildApp } from '../src/app.ts';
import { ConnectorRegistry } from '../src/registry/registry.ts';
import { createFakeSource } from '../test/fakes/fake-source.ts';
import { commitRevision, createTenant, insertConnection, streamMapping } from '../test/helpers/record-fixtures.ts';

const SELF = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  bytes: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

/** the load generator (runs in a child process so it does not share the server's event loop) */
async function load(url: string, token: string, seconds: number, connections: number, gzip: boolean): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  const statuses: Record<string, number> = {};
  const target = new URL(url);
  const deadline = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, agent, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(gzip ? { 'accept-encoding': 'gzip' } : {}) } }, (res) => {
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => {
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else errors++;
          resolve();
        });
      });
      req.on('error', (err) => {
        statuses[err.message] = (statuses[err.message] ?? 0) + 1;
        errors++;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await one();
  }));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { requests: latencies.length, errors, seconds: elapsed, bytes, p50: pct(50), p99: pct(99), statuses };
}

function runLoad(url: string, token: string, seconds: number, connections: number, gzip: boolean): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--load', url, token || '-', String(seconds), String(connections), gzip ? 'gzip' : 'identity'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });
}

/** inserts `count` records of ~`recordBytes` each into one stream, in batches */
async function fillStream(db: Awaited<ReturnType<typeof createDatabase>>, tenantId: string, connectionId: string, count: number, recordBytes: number): Promise<void> {
  const pad = 'x'.repeat(Math.max(0, recordBytes - 120));
  for (let start = 0; start < count; start += 5000) {
    const batch = Array.from({ length: Math.min(5000, count - start) }, (_, j) => {
      const i = start + j;
      const data = { id: `r${String(i).padStart(7, '0')}`, owner_email: `user${i % 997}@example.com`, group: `g${i % 50}`, note: pad };
      return { record_key: data.id, data, hash: crypto.createHash('sha256').update(JSON.stringify(data)).digest('base64url') };
    });
    await db.withTenant(tenantId, (trx) =>
      trx.raw(
        `insert into records (tenant_id, connection_id, stream, record_key, data, hash, revision)
         select ?, ?, 'items', r.record_key, r.data, r.hash, 1 from jsonb_to_recordset(?::jsonb) as r(record_key text, data jsonb, hash text)`,
        [tenantId, connectionId, JSON.stringify(batch)],
      ),
    );
  }
}

function startNginx(root: string, port: number): { stop: () => void } {
  const conf = path.join(root, 'nginx.conf');
  fs.writeFileSync(conf, `
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${root}/tmp;
  proxy_temp_path ${root}/tmp;
  fastcgi_temp_path ${root}/tmp;
  uwsgi_temp_path ${root}/tmp;
  scgi_temp_path ${root}/tmp;
  types { application/json json; }
  gzip_static on;
  server {
    listen 127.0.0.1:${port};
    root ${root}/www;
  }
}
`);
  fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  const child = spawn('nginx', ['-c', conf, '-p', root], { stdio: 'inherit' });
  return { stop: () => child.kill('SIGTERM') };
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer`);
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 64);
  if (spawnSync('nginx', ['-v']).error) throw new Error('nginx is not installed: apt-get update && apt-get install -y nginx');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-bench-serve-'));
  fs.chmodSync(root, 0o755); // nginx workers run unprivileged
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const nginxPort = port + 1000;
  const config = loadConfig({ DATA_DIR: root, PORT: String(port), PIP_PUBLIC_URL: `http://127.0.0.1:${port}`, PIP_ENCRYPTION_KEYS: `1:${crypto.randomBytes(32).toString('base64')}`, PIP_BOOTSTRAP_ADMIN_KEY: `pip_bench_${crypto.randomBytes(16).toString('hex')}`, LOG_LEVEL: 'silent', PIP_RATE_LIMIT_PER_MINUTE: '0', PIP_OPAL_DOCUMENT_WARN_BYTES: String(64 * 1024 * 1024) });
  const db = await createDatabase({ dataDir: root, appRole: config.dbAppRole, inMemory: true });
  await runMigrations(db.knex, config.dbAppRole);
  const cache = createCache();
  const keyring = keyringFromString(config.encryptionKeys!);
  const registry = new ConnectorRegistry([createFakeSource('fake').definition]);
  const services = createServices({ config, db, cache, keyring, registry, logger: pino({ level: 'silent' }) });
  const app = await buildApp({ config, db, cache, keyring, registry, services, logger: false });
  await app.listen({ port, host: '127.0.0.1' });

  const sizes = [
    { tenant: 'one-mb', label: '1 MB', count: 5_900, recordBytes: 200 },
    { tenant: 'twenty-mb', label: '20 MB', count: 118_000, recordBytes: 200 },
  ];
  fs.mkdirSync(path.join(root, 'www'), { recursive: true });
  const tokens: Record<string, string> = {};
  for (const s of sizes) {
    await createTenant({ db }, s.tenant);
    const c = await insertConnection({ db }, { tenantId: s.tenant, name: 'warehouse', type: 'fake', streams: [streamMapping('items', [['id', 'internal'], ['owner_email', 'internal'], ['group', 'internal'], ['note', 'internal']])] });
    await fillStream(db, s.tenant, c, s.count, s.recordBytes);
    await commitRevision({ db }, { tenantId: s.tenant, connectionId: c, changedStreams: ['items'] });
    tokens[s.tenant] = await services.opal.tokens.issue(s.tenant);
    const t0 = performance.now();
    const doc = await services.opal.service.part(s.tenant, '');
    const buildMs = performance.now() - t0;
    fs.writeFileSync(path.join(root, 'www', `${s.tenant}.json`), doc.part.raw);
    fs.writeFileSync(path.join(root, 'www', `${s.tenant}.json.gz`), doc.part.gz);
    console.log(`${s.label} document: ${(doc.part.raw.length / 1e6).toFixed(2)} MB (gzip ${(doc.part.gz.length / 1e6).toFixed(2)} MB), first build ${buildMs.toFixed(0)} ms`);
  }
  const nginx = startNginx(root, nginxPort);
  await waitFor(`http://127.0.0.1:${nginxPort}/`);

  const rows: string[][] = [];
  const ms = (v: number | null) => (v === null || Number.isNaN(v) ? '-' : v.toFixed(1));
  const fmt = (r: LoadResult) => [(r.requests / r.seconds).toFixed(0), ms(r.p50), ms(r.p99), (r.bytes / r.seconds / 1e6).toFixed(0), String(r.errors)];
  for (const s of sizes) {
    for (const gzip of [false, true]) {
      const pip = await runLoad(`http://127.0.0.1:${port}/opal/pip-data/${s.tenant}`, tokens[s.tenant]!, seconds, connections, gzip);
      const ngx = await runLoad(`http://127.0.0.1:${nginxPort}/${s.tenant}.json`, '', seconds, connections, gzip);
      for (const [name, r] of [['pip', pip], ['nginx', ngx]] as const) if (r.errors) console.log(`${s.label} ${name} answers: ${JSON.stringify(r.statuses)}`);
      const enc = gzip ? 'gzip' : 'identity';
      rows.push([s.label, enc, 'pip /opal/pip-data', ...fmt(pip)]);
      rows.push([s.label, enc, gzip ? 'nginx (gzip_static)' : 'nginx (file)', ...fmt(ngx)]);
      rows.push([s.label, enc, 'ratio pip/nginx', ((pip.requests / pip.seconds) / (ngx.requests / ngx.seconds)).toFixed(2), '', '', '', '']);
    }
  }
  nginx.stop();
  await app.close();
  await services.opal.publisher.stop();
  await db.close();
  fs.rmSync(root, { recursive: true, force: true });

  const header = ['document', 'encoding', 'server', 'req/s', 'p50 ms', 'p99 ms', 'MB/s', 'errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${connections} concurrent keep-alive clients, ${seconds} s per run, ${os.cpus().length} CPUs (server, nginx and load generator share them), Node ${process.version}\n`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

if (process.argv[2] === '--load') {
  const [, , , url, token, seconds, connections, encoding] = process.argv;
  load(url!, token === '-' ? '' : token!, Number(seconds), Number(connections), encoding === 'gzip').then((r) => process.stdout.write(JSON.stringify(r)));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
