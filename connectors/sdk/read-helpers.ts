/**
 * Small helpers every reader uses: message constructors, JSON-safe value conversion,
 * timeouts and cancellation as SourceErrors.
 */
import { SourceError } from './errors.ts';
import type { ReadMessage, StreamState } from './types.ts';

export function record(stream: string, data: Record<string, unknown>): ReadMessage {
  return { type: 'record', stream, data };
}

export function deleteMessage(stream: string, key: Record<string, unknown>): ReadMessage {
  return { type: 'delete', stream, key };
}

export function stateMessage(stream: string, state: StreamState): ReadMessage {
  return { type: 'state', stream, state };
}

export function streamStatus(stream: string, status: 'started' | 'complete'): ReadMessage {
  return { type: 'stream_status', stream, status };
}

export function logMessage(level: 'debug' | 'info' | 'warn' | 'error', message: string): ReadMessage {
  return { type: 'log', level, message };
}

/**
 * Converts a driver value to something JSON.stringify keeps exactly:
 * Date → ISO string (invalid → null), bigint → number when safe else decimal string,
 * Buffer / Uint8Array → base64, NaN / ±Infinity → null, arrays and plain objects recursively.
 */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
    case 'object':
      break;
    default:
      return null; // functions, symbols
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toJsonValue(v);
  return out;
}

/** Converts a driver row; `omit` drops helper columns a query added (e.g. keyset positions). */
export function toJsonRow(row: Record<string, unknown>, omit?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (!omit?.has(k)) out[k] = toJsonValue(v);
  }
  return out;
}

/** Rejects with SourceError(kind 'timeout') when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, source: string, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceError(source, `${what} did not finish within ${ms} ms`, { kind: 'timeout' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function cancelledError(source: string, signal?: AbortSignal): SourceError {
  return new SourceError(source, 'read cancelled', { kind: 'cancelled', cause: signal?.reason });
}

/** Throws SourceError(kind 'cancelled') when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, source: string): void {
  if (signal?.aborted) throw cancelledError(source, signal);
}

/** Rejects with SourceError(kind 'cancelled') as soon as `signal` aborts, else settles like `promise`. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, source: string): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledError(source, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelledError(source, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
