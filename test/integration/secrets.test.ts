/**
 * The vault: a stored credential never appears in clear anywhere in the database, every
 * decryption is audited, a ciphertext is bound to its row, and key rotation re-seals everything
 * under the new key so the old key can be dropped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { BACKENDS } from '../helpers/env.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keyringFromString, loadKeyring } from '../../src/secrets/keyring.ts';
import { SecretsService } from '../../src/secrets/secrets.service.ts';
import type { SecretRef } from '../../src/secrets/secrets.repository.ts';

const reader = { actor: 'test', purpose: 'test' };

/** every form the plaintext could take in a dump: as is, hex, base64 (with and without padding) */
function formsOf(plaintext: string): string[] {
  const b = Buffer.from(plaintext, 'utf8');
  return [plaintext, b.toString('hex'), b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
}

/**
 * Reads every row of every table in every non-system schema through the owner connection
 * (system scope, so row-level security hides nothing) and reports where a needle appears: in the
 * row's text form, or inside a bytea column decoded as UTF-8 or hex.
 */
async function scanDatabase(knex: Knex, needles: string[]): Promise<{ hits: string[]; rowsScanned: Record<string, number> }> {
  return knex.transaction(async (trx) => {
    await trx.raw(`select set_config('app.scope', 'system', true)`);
    const tables = (
      await trx.raw<{ rows: Array<{ schema: string; name: string }> }>(
        `select table_schema as schema, table_name as name from information_schema.tables
          where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%'`,
      )
    ).rows;
    const hits: string[] = [];
    const rowsScanned: Record<string, number> = {};
    for (const { schema, name } of tables) {
      const rows = (await trx.raw<{ rows: Array<{ row: string }> }>(`select t::text as row from ??.?? t`, [schema, name])).rows;
      rowsScanned[name] = rows.length;
      for (const { row } of rows) for (const n of needles) if (row.toLowerCase().includes(n.toLowerCase())) hits.push(`${schema}.${name}: ${n}`);
      const byteaColumns = (
        await trx.raw<{ rows: Array<{ column_name: string }> }>(
          `select column_name from information_schema.columns where table_schema = ? and table_name = ? and data_type = 'bytea'`,
          [schema, name],
        )
      ).rows.map((c) => c.column_name);
      for (const col of byteaColumns) {
        const values = (await trx.raw<{ rows: Array<{ v: Buffer | null }> }>(`select ?? as v from ??.??`, [col, schema, name])).rows;
        for (const { v } of values) {
          if (!v) continue;
          const decoded = [v.toString('utf8'), v.toString('latin1'), v.toString('hex')];
          for (const n of needles) if (decoded.some((d) => d.includes(n)) || v.includes(Buffer.from(n))) hits.push(`${schema}.${name}.${col}: ${n}`);
        }
      }
    }
    return { hits, rowsScanned };
  });
}

describe.each(BACKENDS)('secret vault on %s', (backend) => {
  let t: TestApp;
  const tenant = 'vault';
  const plaintext = `S3cr3t-plaintext-${crypto.randomBytes(12).toString('hex')}`;
  const ref: SecretRef = { tenantId: tenant, ownerType: 'connection', ownerId: 'conn-vault-1', name: 'client_secret_marker' };

  beforeAll(async () => {
    t = await startTestApp(backend);
    const r = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id: tenant, name: 'Vault tenant' } });
    expect(r.statusCode).toBe(201);
    await t.db.withTenant(tenant, (trx) => t.services.secrets.put(trx, ref, plaintext));
  });
  afterAll(async () => t?.close());

  it('keeps the plaintext out of every table, as text, hex or base64', async () => {
    const { hits, rowsScanned } = await scanDatabase(t.db.knex, formsOf(plaintext));
    expect(rowsScanned.secrets).toBeGreaterThan(0);
    expect(hits).toEqual([]);
    // the scanner finds what is stored in clear (the secret's name), so an empty result means something
    const control = await scanDatabase(t.db.knex, ['client_secret_marker']);
    expect(control.hits).toContain('public.secrets: client_secret_marker');
  });

  it('reveals the secret and records a secret.decrypt audit event without the value', async () => {
    const values = await t.db.withTenant(tenant, (trx) =>
      t.services.secrets.revealAll(trx, tenant, ref.ownerType, ref.ownerId, { actor: 'test:reader', purpose: 'connection.test', requestId: 'req-reveal-1', connectionId: ref.ownerId }),
    );
    expect(values).toEqual({ client_secret_marker: plaintext });

    const r = await t.app.inject({ method: 'GET', url: '/pip/audit/logs?action=secret.decrypt', headers: { ...t.auth(), 'x-pip-tenant': tenant } });
    expect(r.statusCode).toBe(200);
    const [event] = r.json().items;
    expect(event).toMatchObject({
      actor: 'test:reader',
      action: 'secret.decrypt',
      target_type: 'connection',
      target_id: 'conn-vault-1',
      connection_id: 'conn-vault-1',
      outcome: 'success',
      request_id: 'req-reveal-1',
      details: { names: ['client_secret_marker'], purpose: 'connection.test' },
    });
    expect(r.body).not.toContain(plaintext);
    // and the audit row itself, now in the database, does not leak it either
    expect((await scanDatabase(t.db.knex, formsOf(plaintext))).hits).toEqual([]);
  });

  it('fails to open a ciphertext copied onto another row (bound to tenant, owner and name)', async () => {
    const other: SecretRef = { ...ref, ownerId: 'conn-vault-2', name: 'client_secret_marker' };
    await t.db.withTenant(tenant, (trx) => t.services.secrets.put(trx, other, 'the other value'));
    const source = await t.db.knex('secrets').where({ tenant_id: tenant, owner_id: ref.ownerId }).first();
    await t.db.knex('secrets').where({ tenant_id: tenant, owner_id: other.ownerId }).update({ key_version: source.key_version, iv: source.iv, tag: source.tag, ciphertext: source.ciphertext });
    await expect(t.db.withTenant(tenant, (trx) => t.services.secrets.revealAll(trx, tenant, other.ownerType, other.ownerId, reader))).rejects.toThrow(/failed authentication/);
    // a flipped bit in place fails as well
    const tampered = Buffer.from(source.ciphertext);
    tampered[0] ^= 1;
    await t.db.knex('secrets').where({ tenant_id: tenant, owner_id: other.ownerId }).update({ ciphertext: tampered });
    await expect(t.db.withTenant(tenant, (trx) => t.services.secrets.revealAll(trx, tenant, other.ownerType, other.ownerId, reader))).rejects.toThrow(/failed authentication/);
    // the original row still opens
    expect(await t.db.withTenant(tenant, (trx) => t.services.secrets.revealAll(trx, tenant, ref.ownerType, ref.ownerId, reader))).toEqual({ client_secret_marker: plaintext });
    await t.db.withTenant(tenant, (trx) => t.services.secrets.deleteOwner(trx, tenant, other.ownerType, other.ownerId));
  });

  it('reports encryption status to platform admins only', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/pip/admin/encryption', headers: t.auth() });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ key_version: 1, key_source: 'env', loaded_versions: [1], secrets_by_version: { '1': 1 } });

    const tenantAdmin = await t.app.inject({ method: 'POST', url: '/pip/api-keys', headers: { ...t.auth(), 'x-pip-tenant': tenant }, payload: { name: 'vault admin', role: 'admin' } });
    const key = tenantAdmin.json().key;
    const refused = await t.app.inject({ method: 'GET', url: '/pip/admin/encryption', headers: t.auth(key) });
    expect(refused.statusCode).toBe(403);
    const rotate = await t.app.inject({ method: 'POST', url: '/pip/admin/encryption/rotate', headers: t.auth(key), payload: {} });
    expect(rotate.statusCode).toBe(403);
  });

  it('refuses generate_key when the keys come from PIP_ENCRYPTION_KEYS, and rotates otherwise', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/pip/admin/encryption/rotate', headers: t.auth(), payload: { generate_key: true } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('PIP_BAD_REQUEST');
    expect(r.json().error.message).toMatch(/PIP_ENCRYPTION_KEYS/);

    const plain = await t.app.inject({ method: 'POST', url: '/pip/admin/encryption/rotate', headers: t.auth(), payload: {} });
    expect(plain.statusCode).toBe(200);
    expect(plain.json()).toEqual({ key_version: 1, resealed: 0, failed: [], remaining_by_version: { '1': 1 } });
    const logged = await t.app.inject({ method: 'GET', url: '/pip/audit/logs?platform=true&action=secrets.rotate', headers: t.auth() });
    expect(logged.json().items[0]).toMatchObject({ action: 'secrets.rotate', outcome: 'success', request_id: plain.headers['x-request-id'] });
  });
});

describe.each(BACKENDS)('key rotation on %s', (backend) => {
  let t: TestApp;
  const v2 = crypto.randomBytes(32).toString('base64');
  const owners = ['conn-a', 'conn-b', 'conn-c'];
  const valueOf = (tenant: string, owner: string) => `rotate-${tenant}-${owner}-value`;

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const id of ['r1', 'r2']) {
      const r = await t.app.inject({ method: 'POST', url: '/pip/tenants', headers: t.auth(), payload: { id, name: id } });
      expect(r.statusCode).toBe(201);
    }
  });
  afterAll(async () => t?.close());

  it('re-seals every secret under the new key; the new key alone opens them and the old one no longer does', async () => {
    // the app's key is the old key, version 1
    const oldOnly = new SecretsService(t.db, keyringFromString(t.config.encryptionKeys!), t.services.audit);
    const both = new SecretsService(t.db, keyringFromString(`${t.config.encryptionKeys},2:${v2}`), t.services.audit);
    const newOnly = new SecretsService(t.db, keyringFromString(`2:${v2}`), t.services.audit);

    for (const tenant of ['r1', 'r2']) {
      await t.db.withTenant(tenant, async (trx) => {
        for (const owner of owners) {
          await oldOnly.put(trx, { tenantId: tenant, ownerType: 'connection', ownerId: owner, name: 'password' }, valueOf(tenant, owner));
          await oldOnly.put(trx, { tenantId: tenant, ownerType: 'connection', ownerId: owner, name: 'token' }, `${valueOf(tenant, owner)}-token`);
        }
      });
    }
    const total = 2 * owners.length * 2;
    expect((await oldOnly.status()).secrets_by_version).toEqual({ '1': total });
    const before = await t.db.knex('secrets').select('id', 'ciphertext').orderBy('id');

    const result = await both.rotate({ batchSize: 5 });
    expect(result).toEqual({ key_version: 2, resealed: total, failed: [], remaining_by_version: { '2': total } });
    const rows = await t.db.knex('secrets').select('id', 'key_version', 'ciphertext').orderBy('id');
    expect(rows.every((r) => r.key_version === 2)).toBe(true);
    rows.forEach((r, i) => expect(Buffer.compare(r.ciphertext, before[i].ciphertext)).not.toBe(0));

    for (const tenant of ['r1', 'r2']) {
      for (const owner of owners) {
        const values = await t.db.withTenant(tenant, (trx) => newOnly.revealAll(trx, tenant, 'connection', owner, reader));
        expect(values).toEqual({ password: valueOf(tenant, owner), token: `${valueOf(tenant, owner)}-token` });
        await expect(t.db.withTenant(tenant, (trx) => oldOnly.revealAll(trx, tenant, 'connection', owner, reader))).rejects.toThrow(/key version 2 is not loaded/);
      }
    }
    // a second run has nothing left to do
    expect(await both.rotate()).toEqual({ key_version: 2, resealed: 0, failed: [], remaining_by_version: { '2': total } });
  });

  it('skips and reports a row it cannot open, and still rotates the others', async () => {
    const v3 = crypto.randomBytes(32).toString('base64');
    const twoKeys = new SecretsService(t.db, keyringFromString(`${t.config.encryptionKeys},2:${v2}`), t.services.audit);
    await t.db.withTenant('r1', async (trx) => {
      await twoKeys.put(trx, { tenantId: 'r1', ownerType: 'connection', ownerId: 'tampered', name: 'password' }, 'will-be-broken');
      await twoKeys.put(trx, { tenantId: 'r1', ownerType: 'connection', ownerId: 'fine', name: 'password' }, 'still-fine');
    });
    const broken = await t.db.knex('secrets').where({ owner_id: 'tampered' }).first();
    const flipped = Buffer.from(broken.ciphertext);
    flipped[0] = flipped[0]! ^ 0xff;
    await t.db.knex('secrets').where({ id: broken.id }).update({ ciphertext: flipped });

    const three = new SecretsService(t.db, keyringFromString(`${t.config.encryptionKeys},2:${v2},3:${v3}`), t.services.audit);
    const result = await three.rotate();
    expect(result.failed).toEqual([{ id: broken.id, key_version: 2, reason: expect.stringContaining('failed authentication') }]);
    expect(result.resealed).toBeGreaterThan(0);
    expect(result.remaining_by_version).toMatchObject({ '2': 1 });
    const fine = await t.db.withTenant('r1', (trx) => three.revealAll(trx, 'r1', 'connection', 'fine', reader));
    expect(fine).toEqual({ password: 'still-fine' });
    expect((await t.db.knex('secrets').where({ owner_id: 'fine' }).first()).key_version).toBe(3);
  });

  it('adds a key version to the key file (embedded default) and rotates onto it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-keyfile-'));
    try {
      const ring = loadKeyring({ dataDir: dir, warn: () => {} });
      const file = path.join(dir, 'encryption-keys');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const fileVault = new SecretsService(t.db, ring, t.services.audit);
      // start from rows sealed under the file's version 1 only (the previous test's rows are under another key)
      await t.db.knex('secrets').delete();
      await t.db.withTenant('r1', (trx) => fileVault.put(trx, { tenantId: 'r1', ownerType: 'connection', ownerId: 'file', name: 'pw' }, 'file-value'));
      expect(ring.versions()).toEqual([1]);
      const result = await fileVault.rotate({ newKey: true });
      expect(result).toEqual({ key_version: 2, resealed: 1, failed: [], remaining_by_version: { '2': 1 } });
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^1:[A-Za-z0-9+/=]{44},2:[A-Za-z0-9+/=]{44}\n$/);
      // the new version is persisted: a fresh load of the file opens the row
      const reloaded = new SecretsService(t.db, loadKeyring({ dataDir: dir, warn: () => {} }), t.services.audit);
      expect(await t.db.withTenant('r1', (trx) => reloaded.revealAll(trx, 'r1', 'connection', 'file', reader))).toEqual({ pw: 'file-value' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
