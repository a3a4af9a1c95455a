/**
 * Oracle Database as a PIP source, through node-oracledb in Thin mode (no Instant Client).
 */
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { sqlConnectorVerbs } from '../sdk/sql-connection.ts';
import { defineConnector } from '../sdk/types.ts';
import { oracleClientFactory, type OracleClient } from './client.ts';
import { SOURCE } from './dialect.ts';
import { discoverOracle } from './discover.ts';
import { readOracle } from './read.ts';
import { OracleConfig, oracleSpec } from './spec.ts';

export function parseOracleConfig(raw: unknown): OracleConfig {
  return parseConnectorConfig(OracleConfig, raw, SOURCE);
}

export default defineConnector<OracleConfig>({
  type: 'oracle',
  displayName: 'Oracle Database',
  category: 'database',
  description: 'Tables and views of an Oracle database (12c or later), with keys, relations and incremental reads.',
  spec: oracleSpec,
  templates: [
    {
      id: 'oracle-free',
      name: 'Oracle Database Free (container)',
      description: 'The FREEPDB1 pluggable database of a gvenzl/oracle-free container',
      config: { host: 'localhost', port: 1521, serviceName: 'FREEPDB1' },
    },
  ],
  ...sqlConnectorVerbs<OracleConfig, OracleClient>({
    factory: oracleClientFactory,
    parseConfig: parseOracleConfig,
    check: (client) => client.serverInfo(),
    discover: discoverOracle,
    read: readOracle,
  }),
});
