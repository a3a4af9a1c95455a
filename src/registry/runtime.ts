/**
 * Runs connector verbs with what every call needs: the network guard applied to the config's
 * targets before anything connects, a deadline, an abort signal, and errors turned into
 * SourceErrors (an unexpected exception becomes kind 'protocol' with no message from the driver,
 * which could contain a secret).
 */
import type { FastifyBaseLogger } from 'fastify';
import { createNetworkGuard } from '../../connectors/sdk/network-guard.ts';
import { isSourceError, SourceError } from '../../connectors/sdk/errors.ts';
import type { Catalog, CheckDetails, ConnectorContext, ConnectorDefinition, ConnectorLogger, NetworkGuard, OAuthTokenProvider } from '../../connectors/sdk/types.ts';
import type { AppConfig } from '../config.ts';

export interface CheckOutcome {
  ok: boolean;
  latency_ms: number;
  details: CheckDetails;
  error: { code: string; message: string; hint: string; kind: string } | null;
}

/** what a call gets beyond the common context (an OAuth-authorized connection's tokens) */
export interface CallExtras {
  oauthTokens?: OAuthTokenProvider;
}

export interface RuntimeOptions {
  network: AppConfig['network'];
  logger: ConnectorLogger | FastifyBaseLogger;
  checkTimeoutMs?: number;
  discoverTimeoutMs?: number;
}

/** strips anything secret-looking a driver put into a message before it reaches a client */
export function scrubMessage(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('[redacted]');
  return out;
}

export class ConnectorRuntime {
  readonly guard: NetworkGuard;
  constructor(private readonly opts: RuntimeOptions) {
    this.guard = createNetworkGuard({ allowPrivate: opts.network.allowPrivate, allow: opts.network.allow, deny: opts.network.deny });
  }

  context(timeoutMs: number, signal?: AbortSignal): ConnectorContext & { dispose(): void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new SourceError('pip', `gave up after ${timeoutMs} ms`, { kind: 'timeout' })), timeoutMs);
    timer.unref();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      signal: controller.signal,
      logger: this.opts.logger as ConnectorLogger,
      networkGuard: this.guard,
      timeoutMs,
      dispose: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  async assertTargetsAllowed(def: ConnectorDefinition<any>, config: unknown): Promise<void> {
    for (const host of def.targets(config)) await this.guard.assertAllowed(host);
  }

  /** a call bounded by the deadline even if the driver ignores the abort signal */
  private async bounded<T>(def: ConnectorDefinition<any>, config: unknown, timeoutMs: number, fn: (ctx: ConnectorContext) => Promise<T>, extras: CallExtras = {}): Promise<T> {
    const ctx = { ...this.context(timeoutMs), ...(extras.oauthTokens ? { oauthTokens: extras.oauthTokens } : {}) };
    try {
      await this.assertTargetsAllowed(def, config);
      return await Promise.race([
        fn(ctx),
        new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new SourceError(def.type, `no answer within ${timeoutMs} ms`, { kind: 'timeout' })), { once: true }),
        ),
      ]);
    } catch (err) {
      throw this.asSourceError(def.type, err);
    } finally {
      ctx.dispose();
    }
  }

  asSourceError(type: string, err: unknown): SourceError {
    if (isSourceError(err)) return err;
    this.opts.logger.error({ err, connector: type }, 'connector raised an unclassified error');
    return new SourceError(type, 'the connector failed unexpectedly (see the service log)', { kind: 'protocol', cause: err });
  }

  async check(def: ConnectorDefinition<any>, config: unknown, secrets: string[], extras: CallExtras = {}): Promise<CheckOutcome> {
    const t0 = performance.now();
    try {
      const details = await this.bounded(def, config, this.opts.checkTimeoutMs ?? 15_000, (ctx) => def.check(config, ctx), extras);
      return { ok: true, latency_ms: Math.round(performance.now() - t0), details, error: null };
    } catch (err) {
      const e = err as SourceError;
      return {
        ok: false,
        latency_ms: Math.round(performance.now() - t0),
        details: {},
        error: { code: e.code, kind: e.kind, message: scrubMessage(e.message, secrets), hint: e.hint },
      };
    }
  }

  async discover(def: ConnectorDefinition<any>, config: unknown, extras: CallExtras = {}): Promise<Catalog> {
    return this.bounded(def, config, this.opts.discoverTimeoutMs ?? 120_000, (ctx) => def.discover(config, ctx), extras);
  }
}
