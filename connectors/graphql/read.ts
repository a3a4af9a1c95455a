/**
 * GraphQL reads: schema streams from one introspection (or the SDL), resource streams page by page
 * with Relay or offset paging; incremental streams pass the last cursor value in their variable.
 */
import type { GraphQLSchema } from 'graphql';
import { RateLimitEvents } from '../sdk/http/rate-limit-events.ts';
import { cursorFromState, pagesOf, readRecordPages } from '../sdk/record-stream.ts';
import { SourceError } from '../sdk/errors.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadContext, ReadMessage } from '../sdk/types.ts';
import { GraphqlClient, SOURCE } from './client.ts';
import { assertStreamNames } from './discover.ts';
import { SCHEMA_STREAM_NAMES, schemaRecords } from './schema-streams.ts';
import type { GraphqlConfig } from './spec.ts';

export async function* readGraphql(config: GraphqlConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncGenerator<ReadMessage> {
  assertStreamNames(config.streams);
  const events = new RateLimitEvents();
  const client = new GraphqlClient(config, ctx, events);
  let schema: GraphQLSchema | undefined;
  for (const configured of catalog.streams) {
    if (SCHEMA_STREAM_NAMES.has(configured.name)) {
      schema ??= await client.schema();
      yield* readRecordPages({ source: SOURCE, stream: configured, pages: pagesOf(schemaRecords(configured.name, schema)), events, signal: ctx.signal });
      continue;
    }
    yield* readResource(client, configured, ctx, events);
  }
}

function readResource(client: GraphqlClient, configured: ConfiguredStream, ctx: ReadContext, events: RateLimitEvents): AsyncGenerator<ReadMessage> {
  const stream = client.stream(configured.name);
  if (!stream) throw new SourceError(SOURCE, `stream ${configured.name} is neither a schema stream nor a configured query`, { kind: 'config' });
  const cursorField = configured.syncMode === 'incremental' ? stream.incremental?.cursorField : undefined;
  const since = cursorField ? cursorFromState(ctx.state[configured.name], cursorField) : undefined;
  return readRecordPages({
    source: SOURCE,
    stream: configured,
    pages: client.pages(stream, since),
    events,
    signal: ctx.signal,
    cursor: cursorField ? { field: cursorField, start: since } : undefined,
  });
}
