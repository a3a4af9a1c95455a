/**
 * The lifecycle every SQL connector verb follows: ask the network guard about the host first,
 * open the driver client, run the work within the time budget, always close the client.
 */
import type { SourceError } from './errors.ts';
import { abortable, throwIfAborted, withTimeout } from './read-helpers.ts';
import type { SqlSession } from './sql-reader.ts';
import type {
  CatalogStream,
  CheckDetails,
  ConfiguredCatalog,
  ConnectorContext,
  ConnectorDefinition,
  ReadContext,
  ReadMessage,
} from './types.ts';

export interface SqlClient extends SqlSession {
  /** maps any error of this client to a SourceError (secrets scrubbed) */
  toSourceError(err: unknown, action: string): SourceError;
  close(): Promise<void>;
}

export interface SqlClientFactory<C, K extends SqlClient> {
  source: string;
  host(config: C): string;
  open(config: C, ctx: ConnectorContext): K;
}

/** Guard → open → `work` within ctx.timeoutMs (or until ctx.signal aborts) → close. Errors come out as SourceErrors. */
export async function withSqlClient<C, K extends SqlClient, T>(
  factory: SqlClientFactory<C, K>,
  config: C,
  ctx: ConnectorContext,
  action: string,
  work: (client: K) => Promise<T>,
): Promise<T> {
  throwIfAborted(ctx.signal, factory.source);
  await ctx.networkGuard.assertAllowed(factory.host(config));
  const client = factory.open(config, ctx);
  try {
    return await withTimeout(abortable(work(client), ctx.signal, factory.source), ctx.timeoutMs, factory.source, action);
  } catch (err) {
    throw client.toSourceError(err, action);
  } finally {
    await client.close();
  }
}

/** Guard → open → stream `read(client)` → close, also when the consumer stops early. */
export async function* streamWithSqlClient<C, K extends SqlClient>(
  factory: SqlClientFactory<C, K>,
  config: C,
  ctx: ConnectorContext,
  read: (client: K) => AsyncIterable<ReadMessage>,
): AsyncGenerator<ReadMessage> {
  throwIfAborted(ctx.signal, factory.source);
  await ctx.networkGuard.assertAllowed(factory.host(config));
  const client = factory.open(config, ctx);
  try {
    yield* read(client);
  } catch (err) {
    throw client.toSourceError(err, 'read');
  } finally {
    await client.close();
  }
}

export interface SqlConnectorParts<C, K extends SqlClient> {
  factory: SqlClientFactory<C, K>;
  /** validates the raw config and fills defaults (throws SourceError kind 'config') */
  parseConfig(raw: unknown): C;
  check(client: K, config: C): Promise<CheckDetails>;
  discover(client: K, config: C): Promise<CatalogStream[]>;
  read(client: K, config: C, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncIterable<ReadMessage>;
}

/** The four verbs of a SQL connector, wired through the guard → open → work → close lifecycle. */
export function sqlConnectorVerbs<C, K extends SqlClient>(
  parts: SqlConnectorParts<C, K>,
): Pick<ConnectorDefinition<C>, 'targets' | 'check' | 'discover' | 'read'> {
  const { factory } = parts;
  return {
    targets: (config) => [factory.host(config)],
    async check(raw, ctx) {
      const config = parts.parseConfig(raw);
      return withSqlClient(factory, config, ctx, 'check', (client) => parts.check(client, config));
    },
    async discover(raw, ctx) {
      const config = parts.parseConfig(raw);
      return { streams: await withSqlClient(factory, config, ctx, 'discover', (client) => parts.discover(client, config)) };
    },
    async *read(raw, catalog, ctx) {
      const config = parts.parseConfig(raw);
      yield* streamWithSqlClient(factory, config, ctx, (client) => parts.read(client, config, catalog, ctx));
    },
  };
}
