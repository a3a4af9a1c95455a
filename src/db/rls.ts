/**
 * Row-level security helpers for migrations. A tenant-owned table gets one policy: rows of the
 * transaction's tenant (`app.tenant_id`) or, in the explicit system scope, every row.
 * FORCE makes the policy apply to the table owner too.
 */
import type { Knex } from 'knex';

export const TENANT_PREDICATE = (column: string) =>
  `(${column} = nullif(current_setting('app.tenant_id', true), '') or current_setting('app.scope', true) = 'system')`;

export async function enableTenantRls(knex: Knex, table: string, column = 'tenant_id'): Promise<void> {
  const predicate = TENANT_PREDICATE(column);
  await knex.raw(`alter table ?? enable row level security`, [table]);
  await knex.raw(`alter table ?? force row level security`, [table]);
  await knex.raw(`drop policy if exists tenant_isolation on ??`, [table]);
  await knex.raw(`create policy tenant_isolation on ?? using ${predicate} with check ${predicate}`, [table]);
}
