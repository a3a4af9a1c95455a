/** Reads configured streams (or targeted keys) from PostgreSQL through the shared SQL reader. */
import { readSqlStreams } from '../sdk/sql-reader.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { SOURCE, type PostgresClient } from './client.ts';
import { DEFAULT_SCHEMA } from './discover.ts';
import { postgresDialect } from './dialect.ts';
import type { PostgresConfig } from './spec.ts';

export function readPostgres(
  client: PostgresClient,
  config: PostgresConfig,
  catalog: ConfiguredCatalog,
  ctx: ReadContext,
): AsyncIterable<ReadMessage> {
  return readSqlStreams({
    source: SOURCE,
    dialect: postgresDialect,
    session: client,
    catalog,
    ctx,
    defaultNamespace: DEFAULT_SCHEMA,
    defaultBatchSize: config.batchSize,
  });
}
