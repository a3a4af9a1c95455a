/**
 * Tells the OPAL server what changed: after each new revision, `POST {OPAL_SERVER_URL}/data/config`
 * with `Authorization: Bearer OPAL_DATASOURCE_TOKEN` and a DataUpdate `{id, reason, entries,
 * callback}` naming only the changed dst_paths of that tenant. Revisions of one tenant that
 * arrive within the publish window become one update; updates of one tenant go out in order;
 * failures are retried with exponential backoff and jitter. Every publication and its outcome
 * is stored (without the data token) for /pip/connections/{id}/opal-status.
 *
 * A meta watch (PIP_OPAL_META_REFRESH_SECONDS) republishes `meta` when sync outcomes change
 * without a new revision (synced_at moves, a source turns stale), and every entry when the
 * mappings or OPAL settings change, so OPA never keeps an outdated freshness view.
 */
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { RevisionEvent, RevisionEvents } from '../records/revision-events.ts';
import { PipError } from '../errors.ts';
import type { DataTokens } from './data-tokens.ts';
import type { DocumentsService } from './documents.service.ts';
import { allPaths, changedPaths, connectionPaths, toEntry } from './entries.ts';
import { publicationsRepository, type PublicationRow } from './publications.repository.ts';
import { documentsRepository } from './documents.repository.ts';
import type { OpalMetrics } from './opal.metrics.ts';

export interface PublisherOptions {
  serverUrl?: string;
  datasourceToken?: string;
  publicUrl: string;
  dstPrefix: string;
  windowMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
  metaRefreshSeconds: number;
}

interface Pending {
  changes: Map<string, Set<string>>;
  reasons: Set<string>;
  tenantRevision: number;
  timer: NodeJS.Timeout;
}

interface PublishRequest {
  tenantId: string;
  /** the paths to publish, from the current document layout */
  paths: (index: Parameters<typeof allPaths>[0]) => string[];
  reason: string;
  trigger: PublicationRow['trigger'];
  connectionIds: string[];
  tenantRevision: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class OpalPublisher {
  private readonly pending = new Map<string, Pending>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly watched = new Map<string, { revision: number; config: string; status: string }>();
  private unsubscribe?: () => void;
  private watchTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly documents: DocumentsService,
    private readonly tokens: DataTokens,
    private readonly opts: PublisherOptions,
    private readonly metrics: OpalMetrics,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return !!this.opts.serverUrl;
  }

  /** subscribes to new revisions (and starts the meta watch) when OPAL_SERVER_URL is set */
  start(revisions: RevisionEvents, opts: { watchMeta: boolean }): void {
    if (!this.enabled || this.unsubscribe) return;
    this.stopped = false;
    this.unsubscribe = revisions.on((e) => this.onRevision(e));
    if (opts.watchMeta && this.opts.metaRefreshSeconds > 0) this.scheduleWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.watchTimer) clearTimeout(this.watchTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await Promise.allSettled([...this.chains.values()]);
  }

  /** resolves when nothing is waiting or being sent (tests, shutdown) */
  async idle(): Promise<void> {
    while (this.pending.size || this.chains.size) {
      await Promise.allSettled([...this.chains.values()]);
      if (this.pending.size) await sleep(Math.max(10, this.opts.windowMs / 4));
    }
  }

  onRevision(e: RevisionEvent): void {
    if (!this.enabled || this.stopped) return;
    let p = this.pending.get(e.tenantId);
    if (!p) {
      p = { changes: new Map(), reasons: new Set(), tenantRevision: e.tenantRevision, timer: setTimeout(() => this.flush(e.tenantId), this.opts.windowMs) };
      this.pending.set(e.tenantId, p);
    }
    let streams = p.changes.get(e.connectionId);
    if (!streams) p.changes.set(e.connectionId, (streams = new Set()));
    for (const s of e.changedStreams) streams.add(s);
    p.reasons.add(e.reason);
    p.tenantRevision = Math.max(p.tenantRevision, e.tenantRevision);
  }

  private flush(tenantId: string): void {
    const p = this.pending.get(tenantId);
    if (!p) return;
    this.pending.delete(tenantId);
    const changes = new Map<string, Set<string> | 'all'>(p.changes);
    this.enqueue({
      tenantId,
      paths: (index) => changedPaths(index, changes),
      reason: `${[...p.reasons].sort().join('+')}: revision ${p.tenantRevision} (${changes.size} connection${changes.size === 1 ? '' : 's'} changed)`,
      trigger: 'revision',
      connectionIds: [...changes.keys()],
      tenantRevision: p.tenantRevision,
    });
  }

  /** publishes a connection's entries now (POST /pip/connections/{id}/publish-to-opal) */
  async publishConnection(tenantId: string, connectionId: string, actor: string): Promise<{ id: string; done: Promise<void> }> {
    if (!this.enabled) throw new PipError('PIP_OPAL_NOT_CONFIGURED', 409, 'OPAL_SERVER_URL is not set: there is no OPAL server to publish to');
    const id = crypto.randomUUID();
    const done = this.enqueue({ tenantId, paths: (index) => connectionPaths(index, connectionId), reason: `manual publish by ${actor}`, trigger: 'manual', connectionIds: [connectionId], tenantRevision: null }, id);
    return { id, done };
  }

  private enqueue(req: PublishRequest, id: string = crypto.randomUUID()): Promise<void> {
    const prev = this.chains.get(req.tenantId) ?? Promise.resolve();
    const next = prev.then(() => this.publish(req, id)).catch((err) => this.log.error({ err, tenantId: req.tenantId }, 'OPAL publication crashed'));
    this.chains.set(req.tenantId, next);
    void next.finally(() => {
      if (this.chains.get(req.tenantId) === next) this.chains.delete(req.tenantId);
    });
    return next;
  }

  private backoff(attempt: number): number {
    const base = Math.min(60_000, this.opts.retryBaseMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async publish(req: PublishRequest, id: string): Promise<void> {
    const { tenantId } = req;
    const entryOpts = { publicUrl: this.opts.publicUrl, dstPrefix: this.opts.dstPrefix, tenantId };
    let paths: string[] | undefined;
    let lastError = '';
    let httpStatus: number | null = null;
    let recorded = false;
    for (let attempt = 1; attempt <= this.opts.maxAttempts && !this.stopped; attempt++) {
      try {
        if (!paths) {
          // the document's layout says which entries exist (and builds it, warming the cache)
          paths = req.paths((await this.documents.get(tenantId, { minRevision: req.tenantRevision ?? undefined })).index);
          await this.db.withTenant(tenantId, (trx) =>
            publicationsRepository.insert(trx, { id, tenant_id: tenantId, connection_ids: req.connectionIds, reason: req.reason, trigger: req.trigger, tenant_revision: req.tenantRevision, entries: paths!.map((p) => toEntry(p, entryOpts)), status: 'pending' }),
          );
          recorded = true;
        }
        const token = await this.tokens.issue(tenantId);
        const headers = { authorization: `Bearer ${token}` };
        const body = {
          id,
          reason: req.reason,
          // ?rev= lets an instance that has not seen this revision yet skip its version cache
          entries: paths.map((p) => toEntry(p, { ...entryOpts, token, revision: req.tenantRevision ?? undefined })),
          callback: { callbacks: [[`${this.opts.publicUrl}/opal/callback`, { method: 'post', headers: { ...headers, 'content-type': 'application/json' } }]] },
        };
        const res = await fetch(`${this.opts.serverUrl!.replace(/\/+$/, '')}/data/config`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(this.opts.datasourceToken ? { authorization: `Bearer ${this.opts.datasourceToken}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        httpStatus = res.status;
        const text = await res.text().catch(() => '');
        if (res.ok) {
          await this.finish(tenantId, id, { status: 'succeeded', attempts: attempt, http_status: res.status, error: null });
          this.metrics.publications.inc({ outcome: 'succeeded' });
          this.log.info({ tenantId, publicationId: id, paths: paths.length, attempt }, 'published data update to OPAL');
          return;
        }
        lastError = `OPAL server answered ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
      } catch (err) {
        lastError = err instanceof PipError ? err.message : `${(err as Error).name === 'TimeoutError' ? 'timed out' : 'request failed'}: ${(err as Error).message}`.slice(0, 300);
      }
      this.metrics.publications.inc({ outcome: 'retried' });
      if (recorded) await this.finish(tenantId, id, { attempts: attempt, http_status: httpStatus, error: lastError }).catch(() => undefined);
      if (attempt < this.opts.maxAttempts) await sleep(this.backoff(attempt));
    }
    this.metrics.publications.inc({ outcome: 'failed' });
    this.log.warn({ tenantId, publicationId: id, error: lastError }, 'publishing to OPAL failed after retries');
    if (recorded) await this.finish(tenantId, id, { status: 'failed', attempts: this.opts.maxAttempts, http_status: httpStatus, error: lastError }).catch(() => undefined);
    else {
      // the document could not even be read: still show the failed publication
      await this.db
        .withTenant(tenantId, (trx) => publicationsRepository.insert(trx, { id, tenant_id: tenantId, connection_ids: req.connectionIds, reason: req.reason, trigger: req.trigger, tenant_revision: req.tenantRevision, entries: [], status: 'pending' }))
        .then(() => this.finish(tenantId, id, { status: 'failed', attempts: this.opts.maxAttempts, http_status: null, error: lastError }))
        .catch(() => undefined);
    }
  }

  private async finish(tenantId: string, id: string, patch: Partial<Pick<PublicationRow, 'status' | 'attempts' | 'http_status' | 'error'>>): Promise<void> {
    await this.db.withTenant(tenantId, (trx) => publicationsRepository.update(trx, tenantId, id, { ...patch, ...(patch.status && patch.status !== 'pending' ? { finished_at: new Date() } : {}) }));
  }

  private scheduleWatch(): void {
    this.watchTimer = setTimeout(() => {
      void this.watchOnce()
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'OPAL meta watch failed'))
        .finally(() => {
          if (!this.stopped) this.scheduleWatch();
        });
    }, this.opts.metaRefreshSeconds * 1000);
    this.watchTimer.unref();
  }

  /** one pass of the meta watch: publishes what changed without a revision event */
  async watchOnce(): Promise<void> {
    const tenants = await this.db.withSystem((trx) => documentsRepository.tenantsWithConnections(trx));
    for (const tenantId of tenants) {
      const v = await this.documents.version(tenantId, { fresh: true });
      const seen = this.watched.get(tenantId);
      this.watched.set(tenantId, { revision: v.revision, config: v.config, status: v.status });
      // first sight, or a revision (published by its own event)
      if (!seen || seen.revision !== v.revision || this.pending.has(tenantId)) continue;
      if (seen.config !== v.config) {
        this.enqueue({ tenantId, paths: allPaths, reason: 'mappings or OPAL settings changed', trigger: 'config', connectionIds: [], tenantRevision: v.revision });
      } else if (seen.status !== v.status) {
        this.enqueue({ tenantId, paths: () => ['meta'], reason: 'sync status changed', trigger: 'meta', connectionIds: [], tenantRevision: v.revision });
      }
    }
  }
}
