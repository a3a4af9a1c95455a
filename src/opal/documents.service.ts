/**
 * Documents served to OPAL and OPA: built once per version from the record store, serialized
 * and gzipped once, then served from bytes.
 *
 * A document's version is the tenant revision plus a fingerprint of what else it depends on
 * (documentsRepository.stamp: one cheap query per request). Built versions live in the shared
 * cache (Redis, or in-process on the embedded default) for a TTL chosen by the most sensitive
 * field they carry; with Redis, also in a small in-process layer so a hot document is never
 * copied out of Redis per request. A cache outage only costs rebuilds (and /healthz says degraded); a store
 * outage answers 503: never stale or partial data with 200.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Cache } from '../cache/cache.ts';
import type { OpalConfig } from '../config.ts';
import { PipError } from '../errors.ts';
import { buildDocument, type BuiltDocument, type DocumentIndex } from './document.builder.ts';
import { documentsRepository, type Stamp } from './documents.repository.ts';
import type { OpalMetrics } from './opal.metrics.ts';

const gzip = promisify(zlib.gzip);

export interface ServedPart {
  raw: Buffer;
  gz: Buffer;
  etag: string;
}

export interface LoadedDocument {
  version: string;
  index: DocumentIndex;
  parts: Map<string, ServedPart>;
}

export interface DocumentsServiceDeps {
  db: Database;
  cache: Cache;
  opal: OpalConfig;
  staleAfterSeconds: number;
  categoryOf: (type: string) => string | undefined;
  metrics: OpalMetrics;
  logger: Logger;
  now?: () => Date;
}

interface HotEntry {
  version: string;
  doc: LoadedDocument;
  bytes: number;
  expires: number;
}

const MAX_BUILD_TRIES = 3;

export const versionOf = (s: Stamp) => `${s.revision}.${s.fingerprint}`;

export class DocumentsService {
  private readonly hot = new Map<string, HotEntry>();
  private hotBytes = 0;
  private readonly inflight = new Map<string, Promise<LoadedDocument>>();
  private lastCacheWarning = 0;
  /** the last version read per tenant: one store round trip per PIP_OPAL_VERSION_CHECK_MS, not per request */
  private readonly versions = new Map<string, { stamp: Stamp & { version: string }; at: number }>();

  constructor(private readonly deps: DocumentsServiceDeps) {}

  private cacheKey(tenantId: string, version: string) {
    return `opal:doc:${tenantId}:${version}`;
  }

  /** the current version of a tenant's document (throws 503 when the store cannot answer) */
  async version(tenantId: string, o: { fresh?: boolean; minRevision?: number } = {}): Promise<Stamp & { version: string }> {
    const memo = this.versions.get(tenantId);
    const ttl = this.deps.opal.versionCheckMs;
    if (!o.fresh && memo && ttl > 0 && performance.now() - memo.at < ttl && (o.minRevision === undefined || memo.stamp.revision >= o.minRevision)) return memo.stamp;
    try {
      const s = await this.deps.db.withTenant(tenantId, (trx) => documentsRepository.stamp(trx, tenantId, this.deps.staleAfterSeconds));
      const stamp = { ...s, version: versionOf(s) };
      this.versions.set(tenantId, { stamp, at: performance.now() });
      return stamp;
    } catch (err) {
      this.deps.logger.error({ err, tenantId }, 'record store unavailable for the data plane');
      throw new PipError('PIP_DATA_UNAVAILABLE', 503, 'the record store is unavailable; the previous data stays in effect');
    }
  }

  /** the tenant's current document, built if no cache holds this version */
  async get(tenantId: string, o: { minRevision?: number } = {}): Promise<LoadedDocument> {
    const { version } = await this.version(tenantId, o);
    const hot = this.hot.get(tenantId);
    if (hot && hot.version === version && hot.expires > Date.now()) {
      // refresh recency
      this.hot.delete(tenantId);
      this.hot.set(tenantId, hot);
      return hot.doc;
    }
    const flightKey = `${tenantId}@${version}`;
    let flight = this.inflight.get(flightKey);
    if (!flight) {
      flight = this.load(tenantId, version).finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, flight);
    }
    return flight;
  }

  /** forgets the tenant's version and in-process copies (after a revision event) */
  invalidate(tenantId: string): void {
    this.versions.delete(tenantId);
    this.dropHot(tenantId);
  }

  private async load(tenantId: string, version: string): Promise<LoadedDocument> {
    const cached = await this.fromCache(tenantId, version);
    if (cached) {
      this.keepHot(tenantId, cached);
      return cached;
    }
    const doc = await this.build(tenantId);
    this.keepHot(tenantId, doc);
    await this.toCache(tenantId, doc);
    return doc;
  }

  private async build(tenantId: string): Promise<LoadedDocument> {
    const t0 = performance.now();
    let built: { version: string; doc: BuiltDocument } | undefined;
    try {
      for (let attempt = 1; !built; attempt++) {
        // READ COMMITTED: a run that commits while we read would mix revisions, so the version
        // is read before and after, and a build that straddled a commit is done again
        built = await this.deps.db.withTenant(tenantId, async (trx) => {
          const before = await documentsRepository.stamp(trx, tenantId, this.deps.staleAfterSeconds);
          const doc = await buildDocument(trx, {
            tenantId,
            revision: before.revision,
            now: this.deps.now?.() ?? new Date(),
            staleAfterSeconds: this.deps.staleAfterSeconds,
            defaultUserKey: this.deps.opal.userKey,
            categoryOf: this.deps.categoryOf,
            splitBytes: this.deps.opal.entrySplitBytes,
          });
          const after = await documentsRepository.stamp(trx, tenantId, this.deps.staleAfterSeconds);
          const same = versionOf(after) === versionOf(before);
          return same || attempt >= MAX_BUILD_TRIES ? { version: versionOf(before), doc } : undefined;
        });
      }
    } catch (err) {
      this.deps.metrics.builds.inc({ outcome: 'failed' });
      if (err instanceof PipError) throw err;
      this.deps.logger.error({ err, tenantId }, 'building the OPA data document failed');
      throw new PipError('PIP_DATA_UNAVAILABLE', 503, 'the data document cannot be built right now; the previous data stays in effect');
    }
    const { doc, version } = built;
    const parts = new Map<string, ServedPart>();
    await Promise.all(
      [...doc.parts.entries()].map(async ([name, raw]) => {
        parts.set(name, { raw, gz: await gzip(raw, { level: 6 }), etag: doc.index.etags[name]! });
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    this.deps.metrics.builds.inc({ outcome: 'built' });
    this.deps.metrics.buildSeconds.observe(seconds);
    this.deps.metrics.documentBytes.set({ tenant: tenantId }, doc.index.bytes);
    const log = { tenantId, revision: doc.index.revision, bytes: doc.index.bytes, sensitivity: doc.index.sensitivity, ms: Math.round(seconds * 1000) };
    if (doc.index.bytes > this.deps.opal.documentWarnBytes) {
      this.deps.metrics.oversizeDocuments.inc({ tenant: tenantId });
      this.deps.logger.warn({ ...log, warnBytes: this.deps.opal.documentWarnBytes }, 'OPA data document passed PIP_OPAL_DOCUMENT_WARN_BYTES (OPA holds ~20x the JSON size in memory)');
    } else {
      this.deps.logger.info(log, 'OPA data document built');
    }
    for (const s of doc.index.sources) {
      for (const [stream, bytes] of Object.entries(s.streamBytes)) {
        if (bytes > this.deps.opal.entrySplitBytes) this.deps.logger.warn({ tenantId, source: s.key, stream, bytes }, 'one stream alone passes PIP_OPAL_ENTRY_SPLIT_BYTES: it cannot be split further');
      }
    }
    return { version, index: doc.index, parts };
  }

  private ttl(index: DocumentIndex): number {
    return this.deps.opal.cacheTtlSeconds[index.sensitivity];
  }

  private keepHot(tenantId: string, doc: LoadedDocument): void {
    this.dropHot(tenantId);
    // the in-process cache of the embedded default already holds the bytes: no second copy
    if (this.deps.cache.kind === 'memory') return;
    let bytes = 0;
    for (const p of doc.parts.values()) bytes += p.raw.length + p.gz.length;
    if (bytes > this.deps.opal.hotCacheBytes) return;
    this.hot.set(tenantId, { version: doc.version, doc, bytes, expires: Date.now() + this.ttl(doc.index) * 1000 });
    this.hotBytes += bytes;
    while (this.hotBytes > this.deps.opal.hotCacheBytes) {
      const oldest = this.hot.keys().next().value as string;
      this.dropHot(oldest);
    }
  }

  private dropHot(tenantId: string): void {
    const e = this.hot.get(tenantId);
    if (!e) return;
    this.hot.delete(tenantId);
    this.hotBytes -= e.bytes;
  }

  private cacheFailed(op: 'get' | 'set', err: unknown): void {
    this.deps.metrics.cacheErrors.inc({ op });
    if (Date.now() - this.lastCacheWarning > 30_000) {
      this.lastCacheWarning = Date.now();
      this.deps.logger.warn({ err: (err as Error).message, op }, 'document cache unavailable: serving from the record store');
    }
  }

  private async fromCache(tenantId: string, version: string): Promise<LoadedDocument | undefined> {
    try {
      const packed = await this.deps.cache.get(this.cacheKey(tenantId, version));
      return packed ? unpack(packed, version) : undefined;
    } catch (err) {
      this.cacheFailed('get', err);
      return undefined;
    }
  }

  private async toCache(tenantId: string, doc: LoadedDocument): Promise<void> {
    try {
      await this.deps.cache.set(this.cacheKey(tenantId, doc.version), pack(doc), this.ttl(doc.index));
    } catch (err) {
      this.cacheFailed('set', err);
    }
  }
}

/** one buffer per version: [u32 header length][header JSON][raw and gzip bytes of each part] */
export function pack(doc: LoadedDocument): Buffer {
  const names = [...doc.parts.keys()];
  const header = Buffer.from(JSON.stringify({ index: doc.index, parts: names.map((n) => [n, doc.parts.get(n)!.raw.length, doc.parts.get(n)!.gz.length]) }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  return Buffer.concat([len, header, ...names.flatMap((n) => [doc.parts.get(n)!.raw, doc.parts.get(n)!.gz])]);
}

export function unpack(buf: Buffer, version: string): LoadedDocument | undefined {
  try {
    const hlen = buf.readUInt32BE(0);
    const header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as { index: DocumentIndex; parts: Array<[string, number, number]> };
    const parts = new Map<string, ServedPart>();
    let at = 4 + hlen;
    for (const [name, rawLen, gzLen] of header.parts) {
      const raw = buf.subarray(at, at + rawLen);
      const gz = buf.subarray(at + rawLen, at + rawLen + gzLen);
      at += rawLen + gzLen;
      parts.set(name, { raw, gz, etag: header.index.etags[name]! });
    }
    if (at !== buf.length) return undefined;
    return { version, index: header.index, parts };
  } catch {
    return undefined;
  }
}
