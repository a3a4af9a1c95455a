/**
 * Turns the Requester's waits into `rate_limited` read messages: pass `events.onRateLimited` to the
 * Requester and `yield* events.drain()` between pages, so the sync run counts every wait.
 */
import type { ReadMessage } from '../types.ts';

export class RateLimitEvents {
  private pending: ReadMessage[] = [];

  readonly onRateLimited = (waitMs: number, reason: string): void => {
    this.pending.push({ type: 'rate_limited', waitMs, reason });
  };

  /** the waits reported since the last drain, oldest first */
  *drain(): Generator<ReadMessage> {
    const out = this.pending;
    this.pending = [];
    yield* out;
  }
}
