/**
 * Reads configured Oracle streams through the SDK's SQL reader: keyset pages with
 * `FETCH FIRST :n ROWS ONLY`, incremental by (cursor, key…) with a checkpoint after every page,
 * keyless views through one result set fetched `batchSize` rows at a time, targeted reads by key.
 */
import { readSqlStreams } from '../sdk/sql.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import type { OracleClient } from './client.ts';
import { SOURCE, oracleDialect } from './dialect.ts';
import type { OracleConfig } from './spec.ts';

export async function* readOracle(client: OracleClient, config: OracleConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncGenerator<ReadMessage> {
  yield* readSqlStreams({
    source: SOURCE,
    dialect: oracleDialect,
    session: client,
    catalog,
    ctx,
    defaultNamespace: await client.currentSchema(),
    defaultBatchSize: config.batchSize,
  });
}
