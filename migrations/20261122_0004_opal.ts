import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  // every DataUpdate sent (or tried) to the OPAL server, with its outcome
  await knex.schema.createTable('opal_publications', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    // connections whose changes the update carries (empty for tenant-wide updates)
    t.specificType('connection_ids', 'uuid[]').notNullable().defaultTo('{}');
    t.text('reason').notNullable();
    // revision | manual | meta
    t.text('trigger').notNullable();
    t.bigInteger('tenant_revision').nullable();
    // dst_paths and urls only: the data token in config.headers is never stored
    t.jsonb('entries').notNullable();
    // pending | succeeded | failed
    t.text('status').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('http_status').nullable();
    t.text('error').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.index(['tenant_id', 'created_at']);
  });
  await knex.raw('create index opal_publications_connections on opal_publications using gin (connection_ids)');
  await enableTenantRls(knex, 'opal_publications');

  // DataUpdateReports OPAL clients posted to /opal/callback (entry configs stripped)
  await knex.schema.createTable('opal_reports', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.text('update_id').nullable();
    t.jsonb('entries').notNullable();
    t.boolean('ok').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'update_id']);
    t.index(['tenant_id', 'received_at']);
  });
  await enableTenantRls(knex, 'opal_reports');

  // per-tenant document settings (identity merge keys)
  await knex.schema.createTable('opal_tenant_settings', (t) => {
    t.text('tenant_id').primary().references('id').inTable('tenants').onDelete('CASCADE');
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await enableTenantRls(knex, 'opal_tenant_settings');

  // per-connection publishing settings (hashing of confidential fields, per-field overrides)
  await knex.schema.createTable('opal_connection_settings', (t) => {
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').primary().references('id').inTable('connections').onDelete('CASCADE');
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await enableTenantRls(knex, 'opal_connection_settings');
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['opal_connection_settings', 'opal_tenant_settings', 'opal_reports', 'opal_publications']) await knex.schema.dropTableIfExists(t);
}
