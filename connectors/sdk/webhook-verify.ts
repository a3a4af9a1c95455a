/**
 * What webhook handlers share to verify a delivery: a constant-time comparison of a shared
 * secret (Graph `clientState`, Google `X-Goog-Channel-Token`, an Auth0 log stream's Authorization
 * value), header lookup, and reading a JSON body the pipeline could not parse (JSON Lines).
 */
import crypto from 'node:crypto';
import type { WebhookRequest } from './types.ts';

/**
 * True when `given` equals `expected`, in time independent of where they differ and of their
 * lengths (both are hashed first). An unset or empty expected secret never matches.
 */
export function secretsEqual(given: string | undefined | null, expected: string | undefined | null): boolean {
  if (typeof given !== 'string' || typeof expected !== 'string' || expected.length === 0) return false;
  const a = crypto.createHash('sha256').update(given, 'utf8').digest();
  const b = crypto.createHash('sha256').update(expected, 'utf8').digest();
  return crypto.timingSafeEqual(a, b) && given.length === expected.length;
}

/** a request header (first value), by case-insensitive name */
export function headerValue(req: Pick<WebhookRequest, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() !== wanted) continue;
    return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** the delivery's JSON documents: one JSON value, or JSON Lines (one value per line) */
export function jsonDocuments(req: Pick<WebhookRequest, 'body' | 'rawBody'>): unknown[] | undefined {
  if (req.body !== undefined) return [req.body];
  const text = req.rawBody.toString('utf8').trim();
  if (text === '') return [];
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    // JSON Lines
  }
  const out: unknown[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as unknown);
    } catch {
      return undefined;
    }
  }
  return out;
}
