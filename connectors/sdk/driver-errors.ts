/**
 * Turns a database driver's error into a SourceError: the connector names the kind for its own
 * codes (SQLSTATE, MySQL errno), Node network errno codes come next, and the message keeps the
 * driver's text with every secret of the config scrubbed out.
 */
import { classifyNetworkError, isSourceError, SourceError, type SourceErrorKind } from './errors.ts';

export interface DriverErrorOptions {
  /** `host:port`, named in messages */
  target: string;
  /** values that must never appear in a message (password, keys) */
  secrets: Array<string | undefined>;
  /** the connector's own classification of a driver error, by its code */
  classify(err: DriverError): SourceErrorKind | undefined;
  /** what was being done, e.g. 'connect', 'discover' */
  action?: string;
}

export interface DriverError {
  code?: string;
  errno?: number;
  sqlState?: string;
  message?: string;
}

const REDACTED = '[redacted]';

export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    // very short secrets would redact ordinary words; they are not echoed by drivers anyway
    if (secret && secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  return out;
}

const TIMEOUT_TEXT = /timeout|timed out/i;

export function mapDriverError(source: string, err: unknown, opts: DriverErrorOptions): SourceError {
  if (isSourceError(err)) return err;
  const e = (err ?? {}) as DriverError;
  const code = e.code ?? e.sqlState;
  const text = redact(String(e.message ?? err), opts.secrets);
  const prefix = opts.action ? `${opts.action} on ${opts.target} failed` : `${opts.target}`;
  const detail = code === undefined ? undefined : { code };
  // keep the cause only when it carries no secret, so logging err.cause can never leak one
  const cause = text === String(e.message ?? err) ? err : undefined;
  const kind = opts.classify(e);
  if (kind) return new SourceError(source, `${prefix}: ${text}${code ? ` (${code})` : ''}`, { kind, cause, detail });
  const network = classifyNetworkError(source, err, opts.target);
  if (network) return new SourceError(source, redact(network.message.slice(source.length + 2), opts.secrets), { kind: network.kind, cause, detail });
  const fallback: SourceErrorKind = TIMEOUT_TEXT.test(text) ? 'timeout' : 'protocol';
  return new SourceError(source, `${prefix}: ${text}`, { kind: fallback, cause, detail });
}
