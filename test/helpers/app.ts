/**
 * Builds the whole service for a test on one storage backend: the embedded PGlite (in memory)
 * and in-process cache, or a fresh PostgreSQL database plus Redis with a private key prefix.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type AppConfig } from '../../src/config.ts';
import { createDatabase, type Database } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { createCache, type Cache } from '../../src/cache/cache.ts';
import { keyringFromString, type Keyring } from '../../src/secrets/keyring.ts';
import { createServices, type Services } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { ConnectorRegistry, loadConnectorRegistry } from '../../src/registry/registry.ts';
import pino from 'pino';
import { createTempPgDatabase } from './databases.ts';
import { TEST_REDIS_URL, type Backend } from './env.ts';

export interface TestApp {
  backend: Backend;
  app: FastifyInstance;
  db: Database;
  cache: Cache;
  services: Services;
  keyring: Keyring;
  config: AppConfig;
  adminKey: string;
  auth(key?: string): { authorization: string };
  close(): Promise<void>;
}

export function randomKeyring(versions = 1): string {
  return Array.from({ length: versions }, (_, i) => `${i + 1}:${crypto.randomBytes(32).toString('base64')}`).join(',');
}

export async function startTestApp(backend: Backend, env: Record<string, string> = {}, opts: { registry?: ConnectorRegistry; worker?: boolean } = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-test-'));
  const temp = backend === 'postgres' ? await createTempPgDatabase() : undefined;
  const adminKey = `pip_${crypto.randomBytes(6).toString('hex')}_${crypto.randomBytes(24).toString('base64url')}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    PIP_BOOTSTRAP_ADMIN_KEY: adminKey,
    PIP_ENCRYPTION_KEYS: randomKeyring(),
    LOG_LEVEL: 'silent',
    PIP_RATE_LIMIT_PER_MINUTE: '0',
    PIP_SYNC_POLL_SECONDS: '0.5',
    PIP_SCHEDULER_TICK_SECONDS: '0.5',
    PIP_SYNC_RETRY_BASE_SECONDS: '0.2',
    PIP_SYNC_LEASE_SECONDS: '3',
    ...(temp ? { DATABASE_URL: temp.url, REDIS_URL: TEST_REDIS_URL } : {}),
    ...env,
  });
  const db = await createDatabase({ databaseUrl: config.databaseUrl, dataDir, appRole: config.dbAppRole, inMemory: true, poolMax: 5 });
  await runMigrations(db.knex, config.dbAppRole);
  const cache = createCache(config.redisUrl, `pip:test:${crypto.randomBytes(4).toString('hex')}:`);
  const keyring = keyringFromString(config.encryptionKeys!);
  const registry = opts.registry ?? (await loadConnectorRegistry());
  const services = createServices({ config, db, cache, keyring, registry, logger: pino({ level: 'silent' }) });
  await services.apiKeys.bootstrap(adminKey);
  await services.queue.start();
  if (opts.worker) await services.syncWorker.start();
  const app = await buildApp({ config, db, cache, keyring, registry, services, logger: false });
  await app.ready();
  return {
    backend,
    app,
    db,
    cache,
    services,
    keyring,
    config,
    adminKey,
    auth: (key = adminKey) => ({ authorization: `Bearer ${key}` }),
    async close() {
      await services.syncWorker.stop();
      await services.queue.stop();
      await app.close();
      await cache.close();
      await db.close();
      if (temp) await temp.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
