/**
 * OAuth authorizations and webhook deliveries.
 *
 * - oauth_states: one row per authorization started by an admin; only the state's hash is kept,
 *   with an expiry, and it is consumed once. The PKCE verifier is sealed like every secret.
 * - oauth_tokens: what is known about a connection's OAuth grant in clear (expiry, scopes,
 *   version for optimistic refresh); the tokens themselves are sealed in `secrets` under the
 *   owner type `connection_oauth` and removed with the connection (trigger below).
 * - webhook_events: provider event ids already accepted, for dedupe (unique per connection).
 */
import type { Knex } from 'knex';
import { enableTenantRls } from '../src/db/rls.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_states', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.uuid('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.text('provider').notNullable();
    // sha256 of the state sent to the provider (the state itself is never stored)
    t.text('state_hash').notNullable().unique();
    // PKCE code verifier, sealed (AES-256-GCM, bound to this row); null without PKCE
    t.integer('verifier_key_version').nullable();
    t.binary('verifier_iv').nullable();
    t.binary('verifier_tag').nullable();
    t.binary('verifier_ciphertext').nullable();
    t.text('redirect_uri').notNullable();
    t.text('created_by').notNullable();
    t.text('request_id').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true }).nullable();
    t.index(['expires_at']);
  });
  await enableTenantRls(knex, 'oauth_states');

  await knex.schema.createTable('oauth_tokens', (t) => {
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.uuid('connection_id').primary().references('id').inTable('connections').onDelete('CASCADE');
    t.text('provider').notNullable();
    t.text('token_type').notNullable().defaultTo('Bearer');
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.boolean('has_refresh_token').notNullable().defaultTo(false);
    // bumped by every token change: a refresh only lands if nobody refreshed in between
    t.integer('version').notNullable().defaultTo(1);
    t.text('authorized_by').notNullable();
    t.timestamp('authorized_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('refreshed_at', { useTz: true }).nullable();
    t.jsonb('last_error').nullable();
    // one process at a time refreshes (a short lease), the others wait for the new version
    t.timestamp('refresh_claimed_until', { useTz: true }).nullable();
  });
  await enableTenantRls(knex, 'oauth_tokens');

  await knex.schema.createTable('webhook_events', (t) => {
    t.bigIncrements('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE');
    t.uuid('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.text('provider').notNullable();
    t.text('event_id').notNullable();
    t.text('event_type').notNullable();
    t.uuid('job_id').nullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['connection_id', 'event_id']);
    t.index(['received_at']);
  });
  await enableTenantRls(knex, 'webhook_events');

  // OAuth tokens are secrets of the connection under their own owner type (so connection
  // config updates never touch them): they leave with the connection.
  await knex.raw(`
    create or replace function pip_delete_connection_oauth_secrets() returns trigger language plpgsql as $$
    begin
      delete from secrets where tenant_id = old.tenant_id and owner_type = 'connection_oauth' and owner_id = old.id::text;
      return old;
    end $$`);
  await knex.raw(`drop trigger if exists connections_oauth_secrets_cleanup on connections`);
  await knex.raw(`create trigger connections_oauth_secrets_cleanup after delete on connections for each row execute function pip_delete_connection_oauth_secrets()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop trigger if exists connections_oauth_secrets_cleanup on connections`);
  await knex.raw(`drop function if exists pip_delete_connection_oauth_secrets()`);
  await knex.schema.dropTableIfExists('webhook_events');
  await knex.schema.dropTableIfExists('oauth_tokens');
  await knex.schema.dropTableIfExists('oauth_states');
}
