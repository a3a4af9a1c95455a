/**
 * A cheap proof that the credentials work and the catalog is readable: who we are, where, which
 * server, how many tables the user can see, and that every configured schema exists.
 */
import { SourceError } from '../sdk/errors.ts';
import type { CheckDetails } from '../sdk/types.ts';
import { SOURCE, type PostgresClient } from './client.ts';
import type { PostgresConfig } from './spec.ts';

const CHECK_SQL = `
  SELECT current_setting('server_version') AS server_version, current_database() AS database,
         current_user AS "user",
         COALESCE((SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls,
         (SELECT count(*)::int FROM information_schema.tables
           WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
             AND ($1::text[] IS NULL OR table_schema = ANY($1::text[]))) AS visible_tables,
         ARRAY(SELECT s FROM unnest($1::text[]) AS s
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = s)) AS missing_schemas`;

export async function checkPostgres(client: PostgresClient, config: PostgresConfig): Promise<CheckDetails> {
  const schemas = config.schemas.length > 0 ? config.schemas : null;
  const [row] = await client.query({ text: CHECK_SQL, values: [schemas] });
  if (!row) throw new SourceError(SOURCE, 'the check query returned no row', { kind: 'protocol' });
  const missing = row.missing_schemas as string[];
  if (missing.length > 0) {
    throw new SourceError(SOURCE, `schema ${missing.join(', ')} does not exist in database ${config.database}`, { kind: 'config' });
  }
  return {
    serverVersion: row.server_version,
    database: row.database,
    user: row.user,
    tls: row.tls,
    visibleTables: row.visible_tables,
  };
}
