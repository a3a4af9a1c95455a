/** What connectors with provider push subscriptions (Graph, Google watch channels) share. */

/**
 * When to renew a subscription that lives `lifetimeMs`: when a fifth of its lifetime is left, but
 * at least `minMarginMs` and at most half its lifetime before it expires.
 */
export function renewalTime(expiresAt: string, lifetimeMs: number, minMarginMs: number): Date {
  return new Date(Date.parse(expiresAt) - Math.min(lifetimeMs / 2, Math.max(minMarginMs, lifetimeMs / 5)));
}

/** the earliest of some ISO timestamps or epoch-ms values, as ISO */
export function earliest(times: Array<string | number>): string {
  return new Date(Math.min(...times.map((t) => (typeof t === 'number' ? t : Date.parse(t))))).toISOString();
}
