/**
 * Keeps provider push subscriptions alive (Graph change-notification subscriptions, Google watch
 * channels) for every connection whose connector has a `subscriptions` verb and whose config
 * enables them. A pass — run from the sync worker's tick, in any number of worker processes —
 * looks at connections without a subscription and at rows that are due, claims each one (a row
 * lease, so two workers never create two channels), reveals the connection's secrets (audited),
 * and calls the connector:
 *
 *   enabled and active   ensure(config, { callbackUrl, current }) → new state, renew at renewBefore
 *   paused / disabled    remove(config, state) → row dropped
 *   failure              kept state, retried with exponential backoff (30 s … 1 h), error recorded
 *
 * The callback URL is `{PIP_PUBLIC_URL}/pip/webhooks/{type}/{connection id}`; a changed public URL
 * moves the subscription at the next renewal. A webhook may ask for a renewal now (Graph
 * `reauthorizationRequired`, `subscriptionRemoved`): `requestRenewal` makes the row due.
 * A deleted connection's row goes with it; the provider lets its subscription lapse.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { ConnectionsService } from '../connections/connections.service.ts';
import type { ConnectorRegistry } from '../registry/registry.ts';
import type { ConnectorRuntime } from '../registry/runtime.ts';
import { PipError } from '../errors.ts';
import { isSourceError } from '../../connectors/sdk/errors.ts';
import type { ConnectorDefinition, SubscriptionState } from '../../connectors/sdk/types.ts';
import { subscriptionsRepository, type SubscriptionCandidate, type SubscriptionRow } from './subscriptions.repository.ts';

export interface SubscriptionsOptions {
  publicUrl: string;
  /** subscriptions ensured or removed per pass at most (the rest wait for the next one) */
  batchSize?: number;
  /** how long a claimed row belongs to this worker */
  leaseSeconds?: number;
  /** time budget of one ensure/remove call */
  callTimeoutMs?: number;
  /** passes started by the worker's tick run at most this often (explicit pass() calls always run) */
  minIntervalMs?: number;
}

export interface PassResult {
  ensured: number;
  removed: number;
  failed: number;
}

export function subscriptionView(row: SubscriptionRow) {
  return {
    connection_id: row.connection_id,
    status: row.status,
    callback_url: row.callback_url,
    expires_at: row.expires_at ? new Date(row.expires_at).toISOString() : null,
    renew_at: new Date(row.renew_at).toISOString(),
    failures: row.failures,
    last_error: row.last_error,
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

export function retryDelayMs(failures: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, failures - 1));
}

export class SubscriptionsService {
  private running?: Promise<PassResult>;
  private lastPass = 0;

  constructor(
    private readonly db: Database,
    private readonly registry: ConnectorRegistry,
    private readonly connections: ConnectionsService,
    private readonly runtime: ConnectorRuntime,
    private readonly opts: SubscriptionsOptions,
    private readonly log: Logger,
  ) {}

  callbackUrl(type: string, connectionId: string): string {
    return `${this.opts.publicUrl.replace(/\/+$/, '')}/pip/webhooks/${type}/${connectionId}`;
  }

  private manager(type: string): ConnectorDefinition<any> | undefined {
    const def = this.registry.get(type)?.definition;
    return def?.subscriptions ? def : undefined;
  }

  /** for the worker's tick: a pass unless one ran within `minIntervalMs` */
  async tick(): Promise<void> {
    if (Date.now() - this.lastPass < (this.opts.minIntervalMs ?? 30_000)) return;
    await this.pass();
  }

  /** one pass over the connections that need subscription work (one at a time per process) */
  pass(now = new Date()): Promise<PassResult> {
    this.running ??= this.work(now).finally(() => {
      this.running = undefined;
      this.lastPass = Date.now();
    });
    return this.running;
  }

  private async work(now: Date): Promise<PassResult> {
    const result: PassResult = { ensured: 0, removed: 0, failed: 0 };
    const types = this.registry.list().filter((c) => c.definition.subscriptions).map((c) => c.definition.type);
    if (types.length === 0) return result;
    // connections without push wanted are skipped in memory; at most `batchSize` are worked on per pass
    const budget = this.opts.batchSize ?? 50;
    let after: string | undefined;
    for (;;) {
      const page = await this.db.withSystem((trx) => subscriptionsRepository.candidates(trx, { types, now, after, limit: 200 }));
      for (const c of page) {
        const def = this.manager(c.type);
        if (!def) continue;
        const wanted = c.status === 'active' && this.enabled(def, c);
        if (!wanted && !c.state) {
          // nothing at the provider and nothing wanted
          if (c.has_row) await this.db.withTenant(c.tenant_id, (trx) => subscriptionsRepository.delete(trx, c.connection_id));
          continue;
        }
        const outcome = await this.process(def, c, wanted, now);
        if (outcome) result[outcome] += 1;
        if (result.ensured + result.removed + result.failed >= budget) return result;
      }
      if (page.length < 200) return result;
      after = page[page.length - 1]!.connection_id;
    }
  }

  private enabled(def: ConnectorDefinition<any>, c: SubscriptionCandidate): boolean {
    try {
      return def.subscriptions!.enabled(c.config);
    } catch {
      return false;
    }
  }

  private async process(def: ConnectorDefinition<any>, c: SubscriptionCandidate, wanted: boolean, now: Date): Promise<keyof PassResult | undefined> {
    const leaseUntil = new Date(now.getTime() + (this.opts.leaseSeconds ?? 300) * 1000);
    const claimed = await this.db.withTenant(c.tenant_id, (trx) => subscriptionsRepository.claim(trx, { tenantId: c.tenant_id, connectionId: c.connection_id, type: c.type, now, leaseUntil }));
    if (!claimed) return undefined;
    const log = this.log.child({ connectionId: c.connection_id, tenantId: c.tenant_id, connector: c.type });
    const manager = def.subscriptions!;
    const current: SubscriptionState | undefined = claimed.state ?? undefined;
    const callbackUrl = this.callbackUrl(c.type, c.connection_id);
    try {
      const loaded = await this.connections.load(c.tenant_id, c.connection_id, { actor: 'system:subscriptions', purpose: wanted ? 'subscriptions.ensure' : 'subscriptions.remove' });
      const ctx = this.runtime.context(this.opts.callTimeoutMs ?? 60_000);
      try {
        await this.runtime.assertTargetsAllowed(def, loaded.config);
        if (wanted) {
          const state = await manager.ensure(loaded.config, ctx, { callbackUrl, current });
          const renewAt = manager.renewBefore(state);
          await this.db.withTenant(c.tenant_id, (trx) =>
            subscriptionsRepository.update(trx, c.connection_id, { status: 'active', state, callback_url: callbackUrl, expires_at: new Date(state.expiresAt), renew_at: renewAt, failures: 0, last_error: null }),
          );
          log.info({ expiresAt: state.expiresAt, renewAt: renewAt.toISOString(), renewed: current !== undefined }, 'provider subscription ensured');
          return 'ensured';
        }
        await manager.remove(loaded.config, ctx, current!);
        await this.db.withTenant(c.tenant_id, (trx) => subscriptionsRepository.delete(trx, c.connection_id));
        log.info('provider subscription removed');
        return 'removed';
      } finally {
        ctx.dispose();
      }
    } catch (err) {
      if (err instanceof PipError && err.statusCode === 404) return undefined; // the connection went away meanwhile
      const e = isSourceError(err) ? err : this.runtime.asSourceError(c.type, err);
      const failures = claimed.failures + 1;
      const retryAt = new Date(Date.now() + retryDelayMs(failures));
      await this.db
        .withTenant(c.tenant_id, (trx) => subscriptionsRepository.update(trx, c.connection_id, { failures, renew_at: retryAt, last_error: { code: e.code, message: e.message.slice(0, 1000) } }))
        .catch(() => undefined);
      log.warn({ err: { code: e.code, message: e.message }, failures, retryAt: retryAt.toISOString() }, wanted ? 'provider subscription not ensured; will retry' : 'provider subscription not removed; will retry');
      return 'failed';
    }
  }

  /** a renewal at the next pass (a provider asked for it through a webhook) */
  async requestRenewal(tenantId: string, connectionId: string): Promise<boolean> {
    return this.db.withTenant(tenantId, (trx) => subscriptionsRepository.makeDue(trx, tenantId, connectionId));
  }

  async get(tenantId: string, connectionId: string): Promise<ReturnType<typeof subscriptionView>> {
    return this.db.withTenant(tenantId, async (trx) => {
      await this.connections.require(trx, tenantId, connectionId);
      const row = await subscriptionsRepository.get(trx, tenantId, connectionId);
      if (!row) throw new PipError('PIP_SUBSCRIPTION_NOT_FOUND', 404, `connection ${connectionId} has no provider subscription (its connector has none, or change notifications are off)`);
      return subscriptionView(row);
    });
  }
}
