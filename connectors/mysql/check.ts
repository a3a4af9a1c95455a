/**
 * A cheap proof that the credentials work and the catalog is readable: who we are, where, which
 * server (MySQL or MariaDB), whether TLS is on, how many tables the user can see, and that every
 * configured database exists.
 */
import { SourceError } from '../sdk/errors.ts';
import type { CheckDetails } from '../sdk/types.ts';
import { SOURCE, type MysqlClient } from './client.ts';
import { mysqlSchemas } from './discover.ts';
import type { MysqlConfig } from './spec.ts';

export async function checkMysql(client: MysqlClient, config: MysqlConfig): Promise<CheckDetails> {
  const schemas = mysqlSchemas(config);
  const n = schemas.map(() => '?').join(', ');
  const flavour = await client.serverFlavour();
  const [row] = await client.query({
    text: `SELECT VERSION() AS server_version, DATABASE() AS db, CURRENT_USER() AS user_name,
             (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${n})) AS visible_tables`,
    values: schemas,
  });
  if (!row) throw new SourceError(SOURCE, 'the check query returned no row', { kind: 'protocol' });
  const found = await client.query({ text: `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${n})`, values: schemas });
  const missing = schemas.filter((s) => !found.some((f) => String(f.name) === s));
  if (missing.length > 0) throw new SourceError(SOURCE, `database ${missing.join(', ')} does not exist or is not visible`, { kind: 'config' });
  const [cipher] = await client.query({ text: "SHOW SESSION STATUS LIKE 'Ssl_cipher'", values: [] });
  return {
    serverVersion: row.server_version,
    flavour: flavour.name,
    database: row.db,
    user: row.user_name,
    tls: Boolean(cipher?.Value),
    visibleTables: Number(row.visible_tables),
  };
}
