/**
 * Process entry: reads config, opens the database (embedded PGlite unless DATABASE_URL), runs
 * migrations, makes sure a platform admin key exists (printed once), listens, and drains on
 * SIGTERM/SIGINT (finishes in-flight requests, closes pools).
 */
import pino from 'pino';
import { loadConfig, ConfigError } from './config.ts';
import { createDatabase } from './db/database.ts';
import { runMigrations } from './db/migrate.ts';
import { createCache } from './cache/cache.ts';
import { loadKeyring, KeyringError } from './secrets/keyring.ts';
import { createServices } from './container.ts';
import { buildApp } from './app.ts';
import { loggerOptions } from './observability/logger.ts';
import { loadConnectorRegistry } from './registry/registry.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = pino(loggerOptions(config.logLevel));
  let ready = false;
  // a signal before the server listens (migrations, first PGlite open) stops cleanly too
  let stopEarly: (() => Promise<void>) | undefined;
  const early = (signal: string) => {
    log.info({ signal }, 'stopping during start-up');
    void (stopEarly?.() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', early);
  process.once('SIGINT', early);

  let keyring;
  try {
    keyring = loadKeyring({ encryptionKeys: config.encryptionKeys, dataDir: config.dataDir, warn: (m) => log.warn(m) });
  } catch (err) {
    if (err instanceof KeyringError) {
      log.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }

  log.info({ database: config.databaseUrl ? 'postgresql' : 'embedded', dataDir: config.databaseUrl ? undefined : config.dataDir }, 'opening database');
  const db = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, appRole: config.dbAppRole });
  stopEarly = () => db.close();
  const applied = await runMigrations(db.knex, config.dbAppRole);
  if (applied.length) log.info({ applied }, 'migrations applied');
  const cache = createCache(config.redisUrl);
  const registry = await loadConnectorRegistry();
  log.info({ connectors: registry.list().map((c) => c.definition.type) }, 'connectors registered');
  const services = createServices({ config, db, cache, keyring, registry, logger: log });

  const boot = await services.apiKeys.bootstrap(config.bootstrapAdminKey);
  if (boot.key) {
    // printed once, to stdout, outside the structured log: it is never stored in clear
    process.stdout.write(`\n  Platform admin API key (shown once, store it now):\n\n    ${boot.key}\n\n`);
  }

  await services.queue.start();
  if (config.role !== 'api') await services.syncWorker.start();
  log.info({ role: config.role }, config.role === 'api' ? 'sync worker not started (PIP_ROLE=api)' : 'sync worker started');

  const app = await buildApp({ config, db, cache, keyring, registry, services, isReady: () => ready });
  app.addHook('onClose', async () => {
    await services.syncWorker.stop();
    await services.queue.stop();
    await cache.close();
    await db.close();
  });
  await app.listen({ port: config.port, host: config.host });
  ready = true;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.off('SIGTERM', early);
  process.off('SIGINT', early);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error('failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
