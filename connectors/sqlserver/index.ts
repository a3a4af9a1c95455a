/**
 * Microsoft SQL Server (and Azure SQL) as a PIP source, through tedious.
 */
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { sqlConnectorVerbs } from '../sdk/sql-connection.ts';
import { defineConnector } from '../sdk/types.ts';
import { sqlServerClientFactory, type SqlServerClient } from './client.ts';
import { SOURCE } from './dialect.ts';
import { discoverSqlServer } from './discover.ts';
import { readSqlServer } from './read.ts';
import { SqlServerConfig, sqlServerSpec } from './spec.ts';

export function parseSqlServerConfig(raw: unknown): SqlServerConfig {
  return parseConnectorConfig(SqlServerConfig, raw, SOURCE);
}

export default defineConnector<SqlServerConfig>({
  type: 'sqlserver',
  displayName: 'Microsoft SQL Server',
  category: 'database',
  description: 'Tables and views of a SQL Server or Azure SQL database, with keys, relations and incremental reads.',
  spec: sqlServerSpec,
  templates: [
    {
      id: 'azure-sql',
      name: 'Azure SQL Database',
      description: 'Encrypted connection to <server>.database.windows.net on port 1433',
      config: { host: '<server>.database.windows.net', port: 1433, encrypt: true, trustServerCertificate: false },
    },
  ],
  ...sqlConnectorVerbs<SqlServerConfig, SqlServerClient>({
    factory: sqlServerClientFactory,
    parseConfig: parseSqlServerConfig,
    check: (client) => client.serverInfo(),
    discover: discoverSqlServer,
    read: readSqlServer,
  }),
});
