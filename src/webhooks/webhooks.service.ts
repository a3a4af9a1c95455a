/**
 * The webhook pipeline: a provider's delivery → the connection (system lookup by id; 404 when it
 * does not exist or is of another type, without saying which) → the connector's handler
 * (handshake, verification, events) → dedupe by provider event id → one targeted sync job per
 * delivery → a fast 2xx. The work itself happens in the queue.
 *
 * A connection's config (secrets revealed, audited) is kept in process memory for a short while
 * (≤ 60 s), so a burst of deliveries does not decrypt the secrets for each; it never goes to a
 * shared cache. A rejected delivery against a config older than a few seconds is verified once
 * more against a fresh load (the admin may just have rotated the hook secret).
 */
import type { Database } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ConnectionsService, LoadedConnection } from '../connections/connections.service.ts';
import type { SyncService } from '../sync/sync.service.ts';
import { PipError } from '../errors.ts';
import type { ReadHint, WebhookOutcome, WebhookRequest } from '../../connectors/sdk/types.ts';
import { webhooksRepository } from './webhooks.repository.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface WebhookOptions {
  /** how long a connection's revealed config is reused (capped at 60 s) */
  configCacheSeconds?: number;
  /** a rejection against a cached config older than this is retried with a fresh one */
  recheckAfterMs?: number;
  maxCachedConnections?: number;
  retentionDays?: number;
}

export interface WebhookReply {
  status: number;
  contentType: string;
  body: string;
}

export interface DeliveryInput {
  provider: string;
  connectionId: string;
  request: WebhookRequest;
  requestId: string;
  ip: string;
}

interface CachedConnection {
  tenantId: string;
  loaded: LoadedConnection;
  at: number;
}

const json = (status: number, body: unknown): WebhookReply => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) });

const keyOf = (k: Record<string, unknown>) => JSON.stringify(Object.keys(k).sort().map((f) => [f, k[f]]));

/**
 * Merges hints of several events: one entry per stream, each key once. A hint without keys asks
 * for the stream's normal read, which covers any keys: the stream's entry then has no keys.
 */
export function mergeHints(lists: ReadHint[][]): ReadHint[] {
  const byStream = new Map<string, Map<string, Record<string, unknown>> | 'whole'>();
  for (const list of lists) {
    for (const h of list) {
      let keys = byStream.get(h.stream);
      if (keys === 'whole') continue;
      if (h.keys.length === 0) {
        byStream.set(h.stream, 'whole');
        continue;
      }
      if (!keys) byStream.set(h.stream, (keys = new Map()));
      for (const k of h.keys) keys.set(keyOf(k), k);
    }
  }
  return [...byStream.entries()].map(([stream, keys]) => ({ stream, keys: keys === 'whole' ? [] : [...keys.values()] }));
}

/** drops from `deletes` the keys `hints` re-read by key anyway: the targeted read is the source of truth */
export function withoutReread(deletes: ReadHint[], hints: ReadHint[]): ReadHint[] {
  const reread = new Set(hints.flatMap((h) => h.keys.map((k) => `${h.stream}\u0000${keyOf(k)}`)));
  return deletes
    .map((d) => ({ stream: d.stream, keys: d.keys.filter((k) => !reread.has(`${d.stream}\u0000${keyOf(k)}`)) }))
    .filter((d) => d.keys.length > 0);
}

export class WebhooksService {
  private readonly cache = new Map<string, Promise<CachedConnection>>();
  private readonly ttlMs: number;
  private readonly recheckAfterMs: number;
  private lastPrune = 0;
  private renewal?: (tenantId: string, connectionId: string) => Promise<unknown>;

  constructor(
    private readonly db: Database,
    private readonly connections: ConnectionsService,
    private readonly sync: SyncService,
    private readonly audit: AuditService,
    private readonly opts: WebhookOptions = {},
  ) {
    this.ttlMs = Math.min(60, opts.configCacheSeconds ?? 30) * 1000;
    this.recheckAfterMs = opts.recheckAfterMs ?? 5_000;
  }

  /** wired by the container: events may ask to renew the connection's provider subscription now */
  onRenewalRequested(fn: (tenantId: string, connectionId: string) => Promise<unknown>): void {
    this.renewal = fn;
  }

  private notFound(): PipError {
    return new PipError('PIP_WEBHOOK_NOT_FOUND', 404, 'no webhook endpoint here');
  }

  /** the connection behind a webhook URL, from the short-lived cache or freshly loaded (audited) */
  private async connection(provider: string, connectionId: string, requestId: string, fresh = false): Promise<CachedConnection> {
    const key = `${provider}\u0000${connectionId}`;
    const hit = fresh ? undefined : this.cache.get(key);
    if (hit) {
      const entry = await hit.catch(() => undefined);
      if (entry && Date.now() - entry.at < this.ttlMs) return entry;
      if (this.cache.get(key) === hit) this.cache.delete(key);
    }
    const loading = this.load(provider, connectionId, requestId);
    this.cache.set(key, loading);
    loading.catch(() => {
      if (this.cache.get(key) === loading) this.cache.delete(key);
    });
    while (this.cache.size > (this.opts.maxCachedConnections ?? 1000)) this.cache.delete(this.cache.keys().next().value as string);
    return loading;
  }

  private async load(provider: string, connectionId: string, requestId: string): Promise<CachedConnection> {
    const row = await this.db.withSystem((trx) => webhooksRepository.findConnection(trx, connectionId));
    if (!row || row.type !== provider) throw this.notFound();
    let loaded: LoadedConnection;
    try {
      loaded = await this.connections.load(row.tenant_id, connectionId, { actor: 'system:webhook', requestId, purpose: 'webhook.verify' });
    } catch (err) {
      if (err instanceof PipError && err.statusCode === 404) throw this.notFound();
      throw err;
    }
    if (!loaded.connector.definition.webhooks) throw this.notFound();
    return { tenantId: row.tenant_id, loaded, at: Date.now() };
  }

  async receive(input: DeliveryInput): Promise<WebhookReply> {
    const { provider, connectionId, requestId } = input;
    if (!UUID_RE.test(connectionId)) throw this.notFound();
    let entry = await this.connection(provider, connectionId, requestId);
    let outcome = await entry.loaded.connector.definition.webhooks!.handle(entry.loaded.config, input.request);
    if (outcome.kind === 'rejected' && Date.now() - entry.at > this.recheckAfterMs) {
      entry = await this.connection(provider, connectionId, requestId, true);
      outcome = await entry.loaded.connector.definition.webhooks!.handle(entry.loaded.config, input.request);
    }
    this.maybePrune();
    switch (outcome.kind) {
      case 'handshake':
        await this.audit.recordAlone({ tenantId: entry.tenantId, actor: 'system:webhook', action: 'webhook.handshake', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId, details: { provider, ip: input.ip } });
        return { status: outcome.status, contentType: outcome.contentType, body: outcome.body };
      case 'rejected': {
        const status = outcome.status >= 400 && outcome.status < 500 ? outcome.status : 401;
        await this.audit.recordAlone({ tenantId: entry.tenantId, actor: 'anonymous', action: 'webhook.rejected', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'denied', requestId, details: { provider, ip: input.ip, status, reason: outcome.reason.slice(0, 300) } });
        return json(status, { error: { code: 'PIP_WEBHOOK_REJECTED', message: 'the delivery could not be verified' } });
      }
      case 'events':
        return this.accept(entry, input, outcome);
    }
  }

  private async accept(entry: CachedConnection, input: DeliveryInput, outcome: Extract<WebhookOutcome, { kind: 'events' }>): Promise<WebhookReply> {
    const { provider, connectionId, requestId } = input;
    const tenantId = entry.tenantId;
    const events = outcome.events;
    if (events.length === 0) return json(200, { accepted: 0, duplicates: 0, job_id: null });
    const fresh = await this.db.withTenant(tenantId, (trx) => webhooksRepository.insertNew(trx, { tenantId, connectionId, provider, events }));
    const newEvents = events.filter((e) => fresh.has(e.id));
    // an id repeated inside one delivery counts once
    const seen = new Set<string>();
    const accepted = newEvents.filter((e) => !seen.has(e.id) && seen.add(e.id));
    const duplicates = events.length - accepted.length;
    if (accepted.length === 0) {
      await this.audit.recordAlone({ tenantId, actor: 'system:webhook', action: 'webhook.replayed', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId, details: { provider, ip: input.ip, duplicates, event_ids: events.slice(0, 20).map((e) => e.id) } });
      return json(200, { accepted: 0, duplicates, job_id: null });
    }
    if (accepted.some((e) => e.renewSubscription) && this.renewal) await this.renewal(tenantId, connectionId);
    const hints = mergeHints(accepted.map((e) => e.hints));
    const deletes = withoutReread(mergeHints(accepted.map((e) => e.deletes ?? [])), hints);
    if (hints.length === 0 && deletes.length === 0) return json(200, { accepted: accepted.length, duplicates, job_id: null });
    const ids = accepted.map((e) => e.id);
    const types = [...new Set(accepted.map((e) => e.type))];
    let jobId: string;
    try {
      const { job } = await this.sync.createJob({
        tenantId,
        connectionId,
        trigger: 'webhook',
        mode: 'targeted',
        options: { hints, deletes, reason: `${provider} webhook: ${types.slice(0, 5).join(', ')}${types.length > 5 ? ', …' : ''}` },
        actor: 'system:webhook',
        requestId,
      });
      jobId = job.id;
    } catch (err) {
      if (err instanceof PipError && (err.code === 'PIP_CONNECTION_PAUSED' || err.code === 'PIP_NOTHING_TO_SYNC')) {
        // nothing to sync into: acknowledged, or the provider would retry (and disable the hook)
        return json(200, { accepted: accepted.length, duplicates, job_id: null, ignored: err.code === 'PIP_CONNECTION_PAUSED' ? 'connection paused' : 'no mapped streams' });
      }
      // not queued: forget the events so the provider's retry is processed, not counted as a replay
      await this.db.withTenant(tenantId, (trx) => webhooksRepository.forget(trx, connectionId, ids)).catch(() => undefined);
      throw err;
    }
    await this.db.withTenant(tenantId, (trx) => webhooksRepository.setJob(trx, connectionId, ids, jobId));
    return json(200, { accepted: accepted.length, duplicates, job_id: jobId });
  }

  /** drops dedupe records past the retention, at most hourly, off the request path */
  private maybePrune(): void {
    if (Date.now() - this.lastPrune < 3_600_000) return;
    this.lastPrune = Date.now();
    void this.db.withSystem((trx) => webhooksRepository.prune(trx, this.opts.retentionDays ?? 7)).catch(() => undefined);
  }
}
