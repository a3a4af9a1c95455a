/**
 * REST reads: each configured stream page by page. Incremental streams send the last cursor value
 * in their request parameter and keep the highest value seen as state.
 */
import { cursorFromState, readRecordPages } from '../sdk/record-stream.ts';
import { RateLimitEvents } from '../sdk/http/rate-limit-events.ts';
import type { ConfiguredCatalog, ReadContext, ReadMessage } from '../sdk/types.ts';
import { RestClient, SOURCE } from './client.ts';
import type { RestConfig } from './spec.ts';

export async function* readRest(config: RestConfig, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncGenerator<ReadMessage> {
  const events = new RateLimitEvents();
  const client = new RestClient(config, ctx, events);
  for (const configured of catalog.streams) {
    const stream = client.stream(configured.name);
    const incremental = configured.syncMode === 'incremental' && stream.incremental !== undefined;
    const cursorField = stream.incremental?.cursorField;
    const since = incremental && cursorField ? cursorFromState(ctx.state[configured.name], cursorField) : undefined;
    yield* readRecordPages({
      source: SOURCE,
      stream: configured,
      pages: client.pages(stream, since),
      events,
      signal: ctx.signal,
      cursor: incremental && cursorField ? { field: cursorField, start: since } : undefined,
    });
  }
}
