/**
 * The `opa test` fixtures under opal/fixtures are the document builder's output for the seeded
 * example store, on both storage backends. (No OPA binary can be installed on these machines, so
 * the .rego tests themselves run wherever `opa` is available: `opa test opal/policies opal/fixtures`.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { buildExampleFixture, FIXTURE_FILE, serializeFixture } from '../../opal/build-fixtures.ts';

const POLICY_DIR = path.resolve(path.dirname(FIXTURE_FILE), '../../../policies');

describe.each(BACKENDS)('opa test fixtures on %s', (backend) => {
  let t: TestApp;
  let built: Record<string, any>;
  beforeAll(async () => {
    t = await startTestApp(backend);
    built = await buildExampleFixture(t.db);
  });
  afterAll(async () => t?.close());

  it('opal/fixtures/pip/acme/data.json is exactly what the builder makes from the seeded store', () => {
    const committed = fs.readFileSync(FIXTURE_FILE, 'utf8');
    expect(JSON.parse(committed)).toEqual(built);
    expect(committed).toBe(serializeFixture(built));
  });

  it('holds what the example policies rely on', () => {
    // every source the policies name, every user and group their tests use
    const policies = fs.readdirSync(POLICY_DIR).map((f) => fs.readFileSync(path.join(POLICY_DIR, f), 'utf8')).join('\n');
    for (const source of ['app_db', 'legacy_crm']) {
      expect(policies).toContain(source);
      expect(built.sources[source]).toBeDefined();
    }
    for (const user of ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'mallory@example.com']) expect(policies.toLowerCase()).toContain(user);
    expect(built.users['alice@example.com'].groups).toEqual(['engineering', 'platform']);
    expect(built.users['dave@example.com'].groups).toEqual(['engineering']);
    expect(built.users['bob@example.com'].roles).toEqual(['deployer']);
    expect(built.users['mallory@example.com'].status).toBe('suspended');
    expect(built.sources.app_db.projects.p1.owner_group).toBe('platform');
    expect(built.sources.app_db.documents.d1.owner_email).toBe('alice@example.com');
    expect(built.meta.sources.legacy_crm).toMatchObject({ stale: true, stale_after_s: 86400 });
    expect(built.meta.sources.app_db).toMatchObject({ stale: false, synced_at: '2026-01-15T11:55:00.000Z' });
    // every *_test.rego test name is unique (opa test would report a conflict)
    const names = [...policies.matchAll(/^(test_[a-z0-9_]+) if/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    expect(new Set(names).size).toBe(names.length);
  });
});
