/**
 * Builds the `opa test` data fixtures from a seeded store with the real document builder:
 *
 *   node --import tsx opal/build-fixtures.ts           writes opal/fixtures/pip/acme/data.json
 *   node --import tsx opal/build-fixtures.ts --check   exits 1 when the file is out of date
 *
 * The store is an in-memory embedded database, migrated and filled by opal/seed.ts at a fixed
 * "now", so the output is the same on every run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { buildDocument } from '../src/opal/document.builder.ts';
import { seedExample } from './seed.ts';

export const FIXTURE_TENANT = 'acme';
export const FIXTURE_NOW = new Date('2026-01-15T12:00:00.000Z');
export const FIXTURE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pip', FIXTURE_TENANT, 'data.json');
const CATEGORIES: Record<string, string> = { ldap: 'identity', postgresql: 'database' };
const IDS = {
  corp: '0f6a1c2e-0000-4000-8000-000000000001',
  hr: '0f6a1c2e-0000-4000-8000-000000000002',
  app: '0f6a1c2e-0000-4000-8000-000000000003',
  crm: '0f6a1c2e-0000-4000-8000-000000000004',
};

/** seeds `db` (freshly migrated) and returns the example tenant's document as the builder makes it */
export async function buildExampleFixture(db: Database): Promise<Record<string, unknown>> {
  await seedExample({ db }, { tenantId: FIXTURE_TENANT, identityType: 'ldap', databaseType: 'postgresql', now: FIXTURE_NOW, ids: IDS });
  const built = await db.withTenant(FIXTURE_TENANT, async (trx) => {
    const { revision } = await trx('tenant_revisions').where({ tenant_id: FIXTURE_TENANT }).first();
    return buildDocument(trx, {
      tenantId: FIXTURE_TENANT,
      revision: Number(revision),
      now: FIXTURE_NOW,
      staleAfterSeconds: 86_400,
      defaultUserKey: 'email',
      categoryOf: (type) => CATEGORIES[type],
      splitBytes: 8 * 1024 * 1024,
    });
  });
  return JSON.parse(built.parts.get('document')!.toString('utf8'));
}

export const serializeFixture = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-fixtures-'));
  const db = await createDatabase({ dataDir, appRole: 'pip_app', inMemory: true });
  try {
    await runMigrations(db.knex, 'pip_app');
    const text = serializeFixture(await buildExampleFixture(db));
    if (process.argv.includes('--check')) {
      const current = fs.existsSync(FIXTURE_FILE) ? fs.readFileSync(FIXTURE_FILE, 'utf8') : '';
      if (current !== text) {
        console.error(`${path.relative(process.cwd(), FIXTURE_FILE)} is out of date: run node --import tsx opal/build-fixtures.ts`);
        process.exitCode = 1;
      } else console.log('fixtures are up to date');
    } else {
      fs.mkdirSync(path.dirname(FIXTURE_FILE), { recursive: true });
      fs.writeFileSync(FIXTURE_FILE, text);
      console.log(`wrote ${path.relative(process.cwd(), FIXTURE_FILE)} (${text.length} bytes)`);
    }
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
