/**
 * Runs the migrations (idempotent: knex records what ran and takes a lock, so concurrent starts
 * are safe), then makes sure the application role exists and holds exactly the privileges the
 * service needs: read/write on tables, but only SELECT and INSERT on the append-only audit log.
 */
import type { Knex } from 'knex';
import { migrations, type Migration } from '../../migrations/index.ts';

class ListedMigrationSource implements Knex.MigrationSource<Migration> {
  async getMigrations(): Promise<Migration[]> {
    return migrations;
  }
  getMigrationName(m: Migration): string {
    return m.name;
  }
  async getMigration(m: Migration): Promise<Knex.Migration> {
    return { up: m.up, down: m.down };
  }
}

async function ensureAppRole(knex: Knex, role: string): Promise<void> {
  // roles are cluster-wide: tolerate a concurrent creator
  await knex.raw(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = '${role}') then
        create role ${role} nologin;
      end if;
    exception when duplicate_object or unique_violation then null;
    end $$`);
  await knex.raw(`do $$ begin
      if not pg_has_role(current_user, '${role}', 'member') then
        execute 'grant ${role} to ' || quote_ident(current_user);
      end if;
    exception when others then null;
    end $$`);
  const { rows } = await knex.raw<{ rows: Array<{ s: string }> }>('select current_schema() as s');
  const schema = rows[0]!.s;
  await knex.raw(`grant usage on schema ?? to ${role}`, [schema]);
  await knex.raw(`grant select, insert, update, delete on all tables in schema ?? to ${role}`, [schema]);
  await knex.raw(`grant usage, select on all sequences in schema ?? to ${role}`, [schema]);
  await knex.raw(`revoke update, delete, truncate on audit_events from ${role}`);
  await knex.raw(`revoke all on knex_migrations, knex_migrations_lock from ${role}`);
}

export async function runMigrations(knex: Knex, appRole: string): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: new ListedMigrationSource() })) as [number, string[]];
  await ensureAppRole(knex, appRole);
  return applied;
}
