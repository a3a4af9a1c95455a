/**
 * Provider push subscriptions per connection (Graph change-notification subscriptions, Google
 * watch channels): what the connector created (its opaque state), where deliveries go, when to
 * renew, and the last failure. One row per connection; removed with it.
 */
import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connection_subscriptions', (t) => {
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.uuid('connection_id').primary().references('id').inTable('connections').onDelete('CASCADE');
    t.text('connector_type').notNullable();
    // active (state describes live subscriptions) | removed | failed (not created yet, retrying)
    t.text('status').notNullable();
    t.text('callback_url').nullable();
    // the connector's SubscriptionState: { expiresAt, data }
    t.jsonb('state').nullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
    // when a worker should look at it next (renewal, retry, or a renewal a webhook asked for)
    t.timestamp('renew_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('failures').notNullable().defaultTo(0);
    t.jsonb('last_error').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['renew_at']);
  });
  await enableTenantRls(knex, 'connection_subscriptions');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('connection_subscriptions');
}
