/** The MySQL / MariaDB connector: the registry entry wiring spec, check, discover and read. */
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { sqlConnectorVerbs } from '../sdk/sql-connection.ts';
import { defineConnector } from '../sdk/types.ts';
import { checkMysql } from './check.ts';
import { mysqlClientFactory, SOURCE } from './client.ts';
import { discoverMysql } from './discover.ts';
import { readMysql } from './read.ts';
import { MysqlConfig, mysqlSpec } from './spec.ts';

export function parseMysqlConfig(raw: unknown): MysqlConfig {
  return parseConnectorConfig(MysqlConfig, raw, SOURCE);
}

export default defineConnector<MysqlConfig>({
  type: 'mysql',
  displayName: 'MySQL / MariaDB',
  category: 'database',
  description: 'Tables and views of a MySQL 8 or MariaDB 10.11+ database, with keys, relations and incremental reads by a cursor column.',
  spec: mysqlSpec,
  templates: [
    {
      id: 'mysql-read-only',
      name: 'Read-only user over verified TLS',
      description: 'A dedicated user with SELECT on one database, TLS with certificate verification.',
      config: { port: 3306, tlsMode: 'verify-full' },
    },
  ],
  ...sqlConnectorVerbs({
    factory: mysqlClientFactory,
    parseConfig: parseMysqlConfig,
    check: checkMysql,
    discover: discoverMysql,
    read: readMysql,
  }),
});
