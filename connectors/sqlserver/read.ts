/**
 * Reads configured SQL Server streams through the SDK's SQL reader: keyset pages of `batchSize`
 * rows (`ORDER BY key OFFSET 0 ROWS FETCH NEXT @n ROWS ONLY`, OR-expanded keyset predicates),
 * incremental by (cursor, key…) with checkpoints after every page, targeted reads by key.
 */
import { readSqlStreams } from '../sdk/sql.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import type { SqlServerClient } from './client.ts';
import { SOURCE, sqlServerDialect } from './dialect.ts';
import { DEFAULT_SCHEMA } from './discover.ts';
import type { SqlServerConfig } from './spec.ts';

export function readSqlServer(client: SqlServerClient, config: SqlServerConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncIterable<ReadMessage> {
  return readSqlStreams({
    source: SOURCE,
    dialect: sqlServerDialect,
    session: client,
    catalog,
    ctx,
    defaultNamespace: DEFAULT_SCHEMA,
    defaultBatchSize: config.batchSize,
  });
}
