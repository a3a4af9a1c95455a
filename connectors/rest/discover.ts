/** REST catalog: one endpoint stream per configured stream, fields inferred from sampled records. */
import { sampleRecordPages, sampledStream } from '../sdk/api-catalog.ts';
import type { CatalogStream } from '../sdk/types.ts';
import { SOURCE, type RestClient } from './client.ts';

export async function discoverRest(client: RestClient): Promise<CatalogStream[]> {
  const streams: CatalogStream[] = [];
  for (const stream of client.config.streams) {
    const sampler = await sampleRecordPages(client.pages(stream), client.config.sampleSize);
    streams.push(
      sampledStream({
        source: SOURCE,
        name: stream.name,
        sampler,
        primaryKey: stream.primaryKey,
        cursorField: stream.incremental?.cursorField,
        description: `${stream.method} ${stream.path} — ${sampler.sampled} records sampled`,
      }),
    );
  }
  return streams;
}

/** The check: the first page of the first stream, through auth, guard and rate limits. */
export async function checkRest(client: RestClient): Promise<Record<string, unknown>> {
  const stream = client.config.streams[0]!;
  const first = await client.pages(stream).next();
  return { baseUrl: new URL(client.config.baseUrl).origin, stream: stream.name, recordsOnFirstPage: first.done ? 0 : first.value.length };
}
