import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  // normalized records: only mapped fields (target names), content-hashed
  await knex.schema.createTable('records', (t) => {
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    // the stream's target name from the mapping
    t.text('stream').notNullable();
    // primary key values: the value itself for one column, a JSON array for several
    t.text('record_key').notNullable();
    t.jsonb('data').notNullable();
    t.text('hash').notNullable();
    // connection revision in which the record last changed
    t.bigInteger('revision').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'connection_id', 'stream', 'record_key']);
  });
  await enableTenantRls(knex, 'records');

  // a run's records before they are applied (atomically) to `records`
  await knex.schema.createTable('sync_staging', (t) => {
    t.uuid('run_id').notNullable();
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').notNullable();
    t.text('stream').notNullable();
    t.text('record_key').notNullable();
    // 'u' upsert, 'd' delete
    t.specificType('op', 'char(1)').notNullable();
    t.jsonb('data').nullable();
    t.text('hash').nullable();
    t.primary(['run_id', 'stream', 'record_key']);
    t.index(['connection_id']);
  });
  await enableTenantRls(knex, 'sync_staging');

  await knex.schema.createTable('sync_state', (t) => {
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').primary().references('id').inTable('connections').onDelete('CASCADE');
    t.bigInteger('revision').notNullable().defaultTo(0);
    // connector state per source stream, saved with the data it describes
    t.jsonb('stream_state').notNullable().defaultTo('{}');
    // revision in which each target stream last changed: what OPAL must refetch
    t.jsonb('stream_revisions').notNullable().defaultTo('{}');
    t.timestamp('last_run_at', { useTz: true }).nullable();
    t.timestamp('last_success_at', { useTz: true }).nullable();
    t.text('last_status').nullable();
    // one run at a time per connection, across processes
    t.uuid('lease_job_id').nullable();
    t.timestamp('lease_until', { useTz: true }).nullable();
  });
  await enableTenantRls(knex, 'sync_state');

  await knex.schema.createTable('tenant_revisions', (t) => {
    t.text('tenant_id').primary().references('id').inTable('tenants').onDelete('CASCADE');
    t.bigInteger('revision').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await enableTenantRls(knex, 'tenant_revisions');

  await knex.schema.createTable('sync_jobs', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    // manual | schedule | webhook | retry
    t.text('trigger').notNullable();
    // auto (each stream's mapped mode) | full | targeted
    t.text('mode').notNullable().defaultTo('auto');
    // queued | running | succeeded | failed | cancelled
    t.text('status').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('options').notNullable().defaultTo('{}');
    t.jsonb('counters').notNullable().defaultTo('{}');
    t.jsonb('error').nullable();
    t.bigInteger('revision').nullable();
    t.boolean('cancel_requested').notNullable().defaultTo(false);
    t.text('worker').nullable();
    // the queue job currently carrying this sync job (a retry or a takeover gets a new one)
    t.uuid('queue_job_id').nullable();
    t.timestamp('next_attempt_at', { useTz: true }).nullable();
    t.text('requested_by').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true }).nullable();
    t.timestamp('heartbeat_at', { useTz: true }).nullable();
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.index(['tenant_id', 'created_at']);
    t.index(['connection_id', 'created_at']);
    t.index(['status']);
  });
  await enableTenantRls(knex, 'sync_jobs');

  await knex.schema.createTable('sync_schedules', (t) => {
    t.text('tenant_id').notNullable();
    t.uuid('connection_id').primary().references('id').inTable('connections').onDelete('CASCADE');
    t.text('cron').notNullable();
    t.text('timezone').notNullable().defaultTo('UTC');
    t.timestamp('next_run_at', { useTz: true }).notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['enabled', 'next_run_at']);
  });
  await enableTenantRls(knex, 'sync_schedules');

  await knex.schema.createTable('sync_logs', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable();
    t.uuid('job_id').notNullable();
    t.uuid('connection_id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('level').notNullable();
    t.text('message').notNullable();
    t.index(['job_id', 'id']);
    t.index(['at']);
  });
  await enableTenantRls(knex, 'sync_logs');
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['sync_logs', 'sync_schedules', 'sync_jobs', 'tenant_revisions', 'sync_state', 'sync_staging', 'records']) await knex.schema.dropTableIfExists(t);
}
