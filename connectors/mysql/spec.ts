/**
 * MySQL / MariaDB connector config (MySQL 8, MariaDB 10.11+). `schemas` lists further databases
 * to read besides `database` (empty: only `database`); table filters take globs or
 * /regular expressions/ (see sdk/name-filter.ts).
 */
import type { Static } from 'typebox';
import { SQL_DATABASE_CAPABILITIES, SQL_DATABASE_STEPS, sqlDatabaseConfig } from '../sdk/sql-config.ts';
import type { ConnectorSpec } from '../sdk/types.ts';

export const MysqlConfig = sqlDatabaseConfig({
  port: 3306,
  schemasDescription: 'Also read these databases (empty: only the database above); system databases are never read',
});
export type MysqlConfig = Static<typeof MysqlConfig>;

export const mysqlSpec: ConnectorSpec = {
  config: MysqlConfig,
  authKinds: ['password'],
  steps: SQL_DATABASE_STEPS,
  capabilities: SQL_DATABASE_CAPABILITIES,
  documentationUrl: 'docs/connectors/mysql.md',
};
