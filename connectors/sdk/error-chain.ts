/**
 * Drivers wrap socket errors: tedious in ConnectionError → AggregateError → Error{code}, the
 * MongoDB driver in MongoNetworkError{cause}, oracledb in NJS-5xx errors. These helpers look
 * through `cause` links and AggregateError members so the Node errno underneath can be found.
 */
import { classifyNetworkError, SourceError } from './errors.ts';

/** The error, its causes and aggregated errors, breadth-first, at most `limit` entries. */
export function errorChain(err: unknown, limit = 16): unknown[] {
  const seen: unknown[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.length < limit) {
    const current = queue.shift();
    if (current === null || current === undefined || seen.includes(current)) continue;
    seen.push(current);
    const e = current as { cause?: unknown; errors?: unknown };
    if (e.cause !== undefined) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return seen;
}

/**
 * classifyNetworkError applied to the first error in the chain it recognises; the SourceError
 * keeps the outermost error as its cause (it carries the driver's context).
 */
export function findNetworkError(source: string, err: unknown, target: string): SourceError | undefined {
  for (const e of errorChain(err)) {
    const found = classifyNetworkError(source, e, target);
    if (!found) continue;
    if (e === err) return found;
    return new SourceError(source, found.message.slice(source.length + 2), { kind: found.kind, cause: err });
  }
  return undefined;
}
