/** Prometheus metrics of the data plane, on the app's registry (services.metrics.registry). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface OpalMetrics {
  documentBytes: Gauge<'tenant'>;
  oversizeDocuments: Counter<'tenant'>;
  builds: Counter<'outcome'>;
  buildSeconds: Histogram;
  cacheErrors: Counter<'op'>;
  publications: Counter<'outcome'>;
}

export function createOpalMetrics(registry: Registry): OpalMetrics {
  return {
    documentBytes: new Gauge({ name: 'pip_opal_document_bytes', help: 'size of the last built OPA data document per tenant (uncompressed JSON)', labelNames: ['tenant'], registers: [registry] }),
    oversizeDocuments: new Counter({ name: 'pip_opal_document_oversize_total', help: 'documents built larger than PIP_OPAL_DOCUMENT_WARN_BYTES', labelNames: ['tenant'], registers: [registry] }),
    builds: new Counter({ name: 'pip_opal_document_builds_total', help: 'document builds from the record store by outcome', labelNames: ['outcome'], registers: [registry] }),
    buildSeconds: new Histogram({ name: 'pip_opal_document_build_seconds', help: 'time to build and compress a document', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    cacheErrors: new Counter({ name: 'pip_opal_cache_errors_total', help: 'document cache operations that failed (served from the store instead)', labelNames: ['op'], registers: [registry] }),
    publications: new Counter({ name: 'pip_opal_publications_total', help: 'DataUpdates sent to the OPAL server by outcome', labelNames: ['outcome'], registers: [registry] }),
  };
}
