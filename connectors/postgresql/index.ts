/** The PostgreSQL connector: the registry entry wiring spec, check, discover and read. */
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { sqlConnectorVerbs } from '../sdk/sql-connection.ts';
import { defineConnector } from '../sdk/types.ts';
import { checkPostgres } from './check.ts';
import { postgresClientFactory, SOURCE } from './client.ts';
import { discoverPostgres } from './discover.ts';
import { readPostgres } from './read.ts';
import { PostgresConfig, postgresSpec } from './spec.ts';

export function parsePostgresConfig(raw: unknown): PostgresConfig {
  return parseConnectorConfig(PostgresConfig, raw, SOURCE);
}

export default defineConnector<PostgresConfig>({
  type: 'postgresql',
  displayName: 'PostgreSQL',
  category: 'database',
  description: 'Tables and views of a PostgreSQL database, with keys, relations and incremental reads by a cursor column.',
  spec: postgresSpec,
  templates: [
    {
      id: 'postgresql-read-only',
      name: 'Read-only user over verified TLS',
      description: 'A dedicated read-only role, TLS with certificate verification, the public schema.',
      config: { port: 5432, tlsMode: 'verify-full', schemas: ['public'] },
    },
  ],
  ...sqlConnectorVerbs({
    factory: postgresClientFactory,
    parseConfig: parsePostgresConfig,
    check: checkPostgres,
    discover: discoverPostgres,
    read: readPostgres,
  }),
});
