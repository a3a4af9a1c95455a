/**
 * RateLimitPolicy: which answers mean "throttled", how long the provider asks us to wait, and a
 * proactive budget; BackoffStrategy: how long to wait when the provider does not say.
 *
 * Throttled answers
 *   - a status in `statuses` (429)
 *   - 403 whose error reason is a throttle reason (Google `rateLimitExceeded`,
 *     `userRateLimitExceeded`, `quotaExceeded`), or whose remaining-calls header is 0 (GitHub)
 *   - a status in `retryAfterStatuses` (403, 503) that carries a Retry-After header
 * Waits, first header that parses wins
 *   - `Retry-After`: delta seconds or an HTTP date
 *   - reset headers (`X-Rate-Limit-Reset` Okta, `x-ratelimit-reset` Auth0/GitHub, `RateLimit-Reset`
 *     IETF): values above 10^9 are epoch seconds (10^12: epoch ms), smaller ones delta seconds
 *   - none: the BackoffStrategy (exponential, full jitter, capped)
 * Budget
 *   Every answer carrying a remaining-calls header and a reset header updates a budget shared per
 *   key (by default the connector and origin, e.g. `okta|https://acme.okta.com`) in an in-process
 *   `RateLimitBudgets` registry; each call spends one in advance. When the remaining calls are at
 *   or below the low-water mark, the next call waits for the reset — so several connections of one
 *   org share one budget instead of each spending all of it.
 */
import { cancelledError } from '../read-helpers.ts';

export interface BackoffStrategy {
  /** wait before retry number `attempt` (0 for the first retry) */
  delayMs(attempt: number): number;
}

export interface ExponentialBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** `full` (default): a uniform random wait between 0 and the exponential ceiling (AWS "full jitter") */
  jitter?: 'full' | 'none';
  random?: () => number;
}

export function exponentialBackoff(opts: ExponentialBackoffOptions = {}): BackoffStrategy {
  const initial = opts.initialMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const random = opts.random ?? Math.random;
  return {
    delayMs(attempt) {
      const ceiling = Math.min(max, initial * factor ** Math.max(0, attempt));
      return Math.round(opts.jitter === 'none' ? ceiling : random() * ceiling);
    },
  };
}

/** Resolves after `ms`, or rejects with SourceError(kind 'cancelled') as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, source: string): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelledError(source, signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelledError(source, signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface BudgetState {
  remaining: number;
  limit?: number;
  /** epoch ms when the window resets */
  resetAt: number;
}

/** Remaining-call budgets by key, shared by every Requester of the process that uses the same key. */
export class RateLimitBudgets {
  private readonly budgets = new Map<string, BudgetState>();

  /** the live budget of a key, or undefined when none is known or its window has passed */
  get(key: string, now = Date.now()): Readonly<BudgetState> | undefined {
    const s = this.budgets.get(key);
    if (s && s.resetAt <= now) {
      this.budgets.delete(key);
      return undefined;
    }
    return s;
  }

  update(key: string, state: BudgetState): void {
    if (this.budgets.size > 10_000) this.prune(Date.now());
    this.budgets.set(key, { ...state });
  }

  /** spends one call of a live budget ahead of the provider's count */
  spend(key: string, now = Date.now()): void {
    const s = this.budgets.get(key);
    if (s && s.resetAt > now) s.remaining -= 1;
  }

  private prune(now: number): void {
    for (const [k, s] of this.budgets) if (s.resetAt <= now) this.budgets.delete(k);
  }
}

/** The process-wide registry Requesters use unless given their own. */
export const sharedRateLimitBudgets = new RateLimitBudgets();

export interface ResponseHead {
  status: number;
  headers: Headers;
}

export interface Throttle {
  /** e.g. `429`, `403 userRateLimitExceeded` */
  reason: string;
  /** how long the provider asked us to wait; undefined when it did not say */
  waitMs?: number;
  /** the header the wait came from */
  header?: string;
}

export interface RateLimitPolicyOptions {
  /** statuses that always mean throttled (default 429) */
  statuses?: number[];
  /** statuses that mean throttled when they carry a Retry-After header (default 403, 503) */
  retryAfterStatuses?: number[];
  /** 403 error reasons that mean throttled */
  throttleReasons?: string[];
  retryAfterHeaders?: string[];
  resetHeaders?: string[];
  remainingHeaders?: string[];
  limitHeaders?: string[];
  /** wait for the reset when a budget's remaining calls are at or below this (default 0) */
  lowWater?: number;
  /** ... or at or below this share of the window's limit, when the provider sends one */
  lowWaterFraction?: number;
  /** budget key; default: connector and origin */
  budgetKey?: string;
  budgets?: RateLimitBudgets;
  /** one wait longer than this fails with kind `rate_limited` instead (default 5 min) */
  maxWaitMs?: number;
  /** throttled answers retried for one request before failing with kind `rate_limited` (default 20) */
  maxRetries?: number;
}

export const DEFAULT_THROTTLE_REASONS = ['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'RATE_LIMITED', 'TooManyRequests'];

const lower = (names: string[]): string[] => names.map((n) => n.toLowerCase());

function firstHeader(headers: Headers, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

/** Retry-After: delta seconds or an HTTP date → ms from now (may be ≤ 0). */
export function parseRetryAfter(value: string, now = Date.now()): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at - now;
}

/** A reset header → epoch ms: large values are epoch seconds (or ms), small ones delta seconds. */
export function parseResetHeader(value: string, now = Date.now()): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(value)) return undefined;
  const n = Number(value);
  if (n >= 1e12) return n;
  if (n >= 1e9) return n * 1000;
  return now + n * 1000;
}

export class RateLimitPolicy {
  readonly maxWaitMs: number;
  readonly maxRetries: number;
  private readonly statuses: Set<number>;
  private readonly retryAfterStatuses: Set<number>;
  private readonly reasons: Set<string>;
  private readonly retryAfterHeaders: string[];
  private readonly resetHeaders: string[];
  private readonly remainingHeaders: string[];
  private readonly limitHeaders: string[];
  private readonly budgets: RateLimitBudgets;

  constructor(private readonly opts: RateLimitPolicyOptions = {}) {
    this.statuses = new Set(opts.statuses ?? [429]);
    this.retryAfterStatuses = new Set(opts.retryAfterStatuses ?? [403, 503]);
    this.reasons = new Set(lower(opts.throttleReasons ?? DEFAULT_THROTTLE_REASONS));
    this.retryAfterHeaders = lower(opts.retryAfterHeaders ?? ['retry-after']);
    this.resetHeaders = lower(opts.resetHeaders ?? ['x-rate-limit-reset', 'x-ratelimit-reset', 'ratelimit-reset']);
    this.remainingHeaders = lower(opts.remainingHeaders ?? ['x-rate-limit-remaining', 'x-ratelimit-remaining', 'ratelimit-remaining']);
    this.limitHeaders = lower(opts.limitHeaders ?? ['x-rate-limit-limit', 'x-ratelimit-limit', 'ratelimit-limit']);
    this.budgets = opts.budgets ?? sharedRateLimitBudgets;
    this.maxWaitMs = opts.maxWaitMs ?? 300_000;
    this.maxRetries = opts.maxRetries ?? 20;
  }

  budgetKey(fallback: string): string {
    return this.opts.budgetKey ?? fallback;
  }

  /** Is this answer a throttle? `reasonCode` is the provider's error code/reason from the body. */
  throttle(res: ResponseHead, reasonCode?: string, now = Date.now()): Throttle | undefined {
    const wait = this.waitFromHeaders(res.headers, now);
    const hasRetryAfter = firstHeader(res.headers, this.retryAfterHeaders) !== undefined;
    const code = reasonCode ? ` ${reasonCode}` : '';
    let throttled = this.statuses.has(res.status) || (this.retryAfterStatuses.has(res.status) && hasRetryAfter);
    if (!throttled && res.status === 403) {
      const remaining = firstHeader(res.headers, this.remainingHeaders);
      throttled = (reasonCode !== undefined && this.reasons.has(reasonCode.toLowerCase())) || remaining?.value === '0';
    }
    if (!throttled) return undefined;
    return { reason: `${res.status}${code}`, waitMs: wait?.waitMs, header: wait?.header };
  }

  /** The wait the provider asked for, from Retry-After or a reset header. */
  waitFromHeaders(headers: Headers, now = Date.now()): { waitMs: number; header: string } | undefined {
    const retryAfter = firstHeader(headers, this.retryAfterHeaders);
    const fromRetryAfter = retryAfter && parseRetryAfter(retryAfter.value, now);
    if (retryAfter && fromRetryAfter !== undefined) return { waitMs: Math.max(0, fromRetryAfter), header: retryAfter.name };
    const reset = firstHeader(headers, this.resetHeaders);
    const resetAt = reset && parseResetHeader(reset.value, now);
    if (reset && resetAt !== undefined) return { waitMs: resetAt - now, header: reset.name };
    return undefined;
  }

  /** Records what an answer says about the budget. */
  observe(key: string, headers: Headers, now = Date.now()): void {
    const remaining = firstHeader(headers, this.remainingHeaders);
    const reset = firstHeader(headers, this.resetHeaders);
    if (!remaining || !reset || !/^\d+$/.test(remaining.value)) return;
    const resetAt = parseResetHeader(reset.value, now);
    if (resetAt === undefined || resetAt <= now) return;
    const limit = Number(firstHeader(headers, this.limitHeaders)?.value);
    this.budgets.update(key, { remaining: Number(remaining.value), limit: Number.isFinite(limit) && limit > 0 ? limit : undefined, resetAt });
  }

  /** How long to hold the next call to stay inside the budget, if at all. */
  budgetWait(key: string, now = Date.now()): { waitMs: number; reason: string } | undefined {
    const s = this.budgets.get(key, now);
    if (!s) return undefined;
    const fraction = this.opts.lowWaterFraction && s.limit ? Math.ceil(s.limit * this.opts.lowWaterFraction) : 0;
    const lowWater = Math.max(this.opts.lowWater ?? 0, fraction);
    if (s.remaining > lowWater) return undefined;
    const of = s.limit ? ` of ${s.limit}` : '';
    return { waitMs: s.resetAt - now, reason: `rate-limit budget: ${Math.max(0, s.remaining)}${of} calls left until the window resets` };
  }

  spend(key: string, now = Date.now()): void {
    this.budgets.spend(key, now);
  }
}

export function rateLimitPolicy(opts: RateLimitPolicyOptions = {}): RateLimitPolicy {
  return new RateLimitPolicy(opts);
}
