import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.text('status').notNullable().defaultTo('active');
    t.integer('token_version').notNullable().defaultTo(1);
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await enableTenantRls(knex, 'tenants', 'id');
  await knex('tenants').insert({ id: 'default', name: 'Default tenant' }).onConflict('id').ignore();

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').nullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('prefix').notNullable().unique();
    t.text('hash').notNullable();
    t.text('role').notNullable();
    t.text('created_by').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.index(['tenant_id', 'created_at']);
  });
  // platform keys (tenant_id null) are visible only in the system scope
  await enableTenantRls(knex, 'api_keys');

  await knex.schema.createTable('secrets', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.text('owner_type').notNullable();
    t.text('owner_id').notNullable();
    t.text('name').notNullable();
    t.integer('key_version').notNullable();
    t.binary('iv').notNullable();
    t.binary('tag').notNullable();
    t.binary('ciphertext').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'owner_type', 'owner_id', 'name']);
    t.index(['key_version']);
  });
  await enableTenantRls(knex, 'secrets');

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    // a tenant id, or `_platform` for platform-level actions
    t.text('tenant_id').notNullable();
    t.bigInteger('seq').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('target_type').nullable();
    t.text('target_id').nullable();
    t.text('connection_id').nullable();
    t.text('outcome').notNullable();
    t.text('request_id').nullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable();
    t.unique(['tenant_id', 'seq']);
    t.index(['tenant_id', 'occurred_at']);
    t.index(['tenant_id', 'connection_id', 'id']);
  });
  await enableTenantRls(knex, 'audit_events');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
  await knex.schema.dropTableIfExists('secrets');
  await knex.schema.dropTableIfExists('api_keys');
  await knex.schema.dropTableIfExists('tenants');
}
