/**
 * PostgreSQL connector config: the schema is the validator, the wizard form and the type.
 * `schemas` lists schema names exactly (empty: every non-system schema the user can see);
 * table filters take globs or /regular expressions/ (see sdk/name-filter.ts).
 */
import type { Static } from 'typebox';
import { SQL_DATABASE_CAPABILITIES, SQL_DATABASE_STEPS, sqlDatabaseConfig } from '../sdk/sql-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const PostgresConfig = sqlDatabaseConfig({
  port: 5432,
  schemasDescription: 'Only these schemas (empty: every schema the user can see except pg_catalog, information_schema, pg_toast)',
});
export type PostgresConfig = Static<typeof PostgresConfig>;

export const postgresSpec: ConnectorSpec = {
  config: PostgresConfig,
  authKinds: ['password'],
  steps: SQL_DATABASE_STEPS,
  capabilities: SQL_DATABASE_CAPABILITIES,
  documentationUrl: 'docs/connectors/postgresql.md',
};
