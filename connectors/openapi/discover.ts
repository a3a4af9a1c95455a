/** OpenAPI catalog and check: the document's three streams, and what the loaded document holds. */
import type { CatalogStream } from '../sdk/types.ts';
import type { LoadedDocument } from './client.ts';
import { documentEntries, endpointRecords, modelRecords, OPENAPI_STREAMS, securitySchemeRecords } from './document.ts';

/**
 * The three streams, each with its entries (key → fingerprint), so the service's catalog diff
 * names new, removed and changed endpoints (scopes), schemes and models between discoveries.
 */
export function discoverOpenApi(loaded: LoadedDocument): CatalogStream[] {
  return OPENAPI_STREAMS.map((s) => {
    const entries = documentEntries(s.name, loaded.document);
    return { ...s, estimatedRows: Object.keys(entries).length, entries };
  });
}

export function describeDocument(loaded: LoadedDocument): Record<string, unknown> {
  const info = loaded.document.info ?? {};
  return {
    title: info.title ?? null,
    apiVersion: info.version ?? null,
    specVersion: loaded.specVersion,
    documents: loaded.documents,
    endpoints: [...endpointRecords(loaded.document)].length,
    securitySchemes: [...securitySchemeRecords(loaded.document)].length,
    models: [...modelRecords(loaded.document)].length,
  };
}
