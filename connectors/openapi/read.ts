/**
 * OpenAPI reads: the document is loaded once per run and its endpoints, security schemes and
 * models emitted as records (endpoints keyed `METHOD path`, so a record-level diff after a sync
 * shows new, removed and changed operations).
 */
import { SourceError } from '../sdk/errors.ts';
import { pagesOf, readRecordPages } from '../sdk/record-stream.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { OpenApiLoader, SOURCE } from './client.ts';
import { documentRecords, OPENAPI_STREAM_NAMES } from './document.ts';
import type { OpenApiConfig } from './spec.ts';

export async function* readOpenApi(config: OpenApiConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncGenerator<ReadMessage> {
  const unknown = catalog.streams.find((s) => !OPENAPI_STREAM_NAMES.has(s.name));
  if (unknown) throw new SourceError(SOURCE, `stream ${unknown.name} does not exist (streams: ${[...OPENAPI_STREAM_NAMES].join(', ')})`, { kind: 'config' });
  const { document } = await new OpenApiLoader(config, ctx).load();
  for (const stream of catalog.streams) {
    yield* readRecordPages({ source: SOURCE, stream, pages: pagesOf(documentRecords(stream.name, document)), signal: ctx.signal });
  }
}
