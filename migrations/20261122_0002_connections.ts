import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connections', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('type').notNullable();
    t.text('status').notNullable().defaultTo('active');
    // config without its secret fields (those live sealed in `secrets`)
    t.jsonb('config').notNullable().defaultTo('{}');
    // the mapping: selected streams and fields with target names and sensitivity
    t.jsonb('streams').notNullable().defaultTo('[]');
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.jsonb('last_test').nullable();
    t.text('created_by').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'name']);
    t.index(['tenant_id', 'created_at', 'id']);
  });
  await enableTenantRls(knex, 'connections');

  await knex.schema.createTable('connection_catalogs', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.jsonb('catalog').notNullable();
    t.jsonb('diff').notNullable();
    t.timestamp('discovered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['connection_id', 'version']);
  });
  await enableTenantRls(knex, 'connection_catalogs');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('connection_catalogs');
  await knex.schema.dropTableIfExists('connections');
}
