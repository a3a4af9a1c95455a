/** Reads configured streams (or targeted keys) from MySQL / MariaDB through the shared SQL reader. */
import { readSqlStreams } from '../sdk/sql-reader.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { SOURCE, type MysqlClient } from './client.ts';
import { mysqlDialect } from './dialect.ts';
import type { MysqlConfig } from './spec.ts';

export function readMysql(client: MysqlClient, config: MysqlConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncIterable<ReadMessage> {
  return readSqlStreams({
    source: SOURCE,
    dialect: mysqlDialect,
    session: client,
    catalog,
    ctx,
    defaultNamespace: config.database,
    defaultBatchSize: config.batchSize,
  });
}
