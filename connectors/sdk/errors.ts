/**
 * Every failure a connector reports is a SourceError with a kind the service can act on:
 * the sync engine retries `transient` / `rate_limited` / `network` / `timeout`, fails at once on
 * the rest; the test route turns the kind into an error code and a hint for the admin.
 * Messages say where the error came from and never contain a secret.
 */
export type SourceErrorKind =
  | 'dns' // host name does not resolve
  | 'unreachable' // connection refused / no route
  | 'timeout' // no answer within the budget
  | 'tls' // certificate / handshake problem
  | 'auth' // bad credentials
  | 'permission' // authenticated but not allowed (missing grant / scope)
  | 'config' // the config points at something that does not exist or is malformed
  | 'blocked' // the network guard refused the target address
  | 'rate_limited' // the provider throttled us beyond our backoff budget
  | 'transient' // 5xx, reset connections, deadlocks: worth retrying
  | 'protocol' // the provider answered something we cannot understand
  | 'cancelled';

const RETRYABLE: ReadonlySet<SourceErrorKind> = new Set(['transient', 'rate_limited', 'unreachable', 'timeout', 'dns']);

export const SOURCE_ERROR_CODES: Record<SourceErrorKind, string> = {
  dns: 'PIP_SOURCE_DNS',
  unreachable: 'PIP_SOURCE_UNREACHABLE',
  timeout: 'PIP_SOURCE_TIMEOUT',
  tls: 'PIP_SOURCE_TLS',
  auth: 'PIP_SOURCE_AUTH_FAILED',
  permission: 'PIP_SOURCE_PERMISSION_DENIED',
  config: 'PIP_SOURCE_CONFIG',
  blocked: 'PIP_SOURCE_ADDRESS_BLOCKED',
  rate_limited: 'PIP_SOURCE_RATE_LIMITED',
  transient: 'PIP_SOURCE_TRANSIENT',
  protocol: 'PIP_SOURCE_PROTOCOL',
  cancelled: 'PIP_SOURCE_CANCELLED',
};

export const SOURCE_ERROR_HINTS: Record<SourceErrorKind, string> = {
  dns: 'Check the host name: it does not resolve from the PIP service.',
  unreachable: 'Check host and port, and that a firewall lets the PIP service reach the source.',
  timeout: 'The source did not answer in time: check network reachability or raise the timeout.',
  tls: 'Check the TLS settings: the CA certificate, the server name, or whether the server speaks TLS.',
  auth: 'Check the username/password, token or key: the source rejected them.',
  permission: 'The credentials work but lack a permission: grant read access (or the scope) named in the message.',
  config: 'A configuration value points at something that does not exist: see the message.',
  blocked: 'This address is not allowed as a connection target (link-local, cloud metadata or denied by policy).',
  rate_limited: 'The provider kept throttling requests: lower the page size or sync less often.',
  transient: 'The source had a temporary failure; the sync will retry.',
  protocol: 'The source answered in an unexpected way; check the URL points at the right service.',
  cancelled: 'The operation was cancelled.',
};

export class SourceError extends Error {
  readonly source: string;
  readonly kind: SourceErrorKind;
  readonly hint: string;
  /** provider-specific detail safe to show (error code, SQLSTATE, HTTP status) */
  readonly detail?: Record<string, unknown>;

  constructor(
    source: string,
    message: string,
    opts: { kind: SourceErrorKind; hint?: string; cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(`${source}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SourceError';
    this.source = source;
    this.kind = opts.kind;
    this.hint = opts.hint ?? SOURCE_ERROR_HINTS[opts.kind];
    this.detail = opts.detail;
  }

  get code(): string {
    return SOURCE_ERROR_CODES[this.kind];
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export function isSourceError(err: unknown): err is SourceError {
  return err instanceof SourceError;
}

/**
 * Classifies low-level Node network errors (errno codes) shared by every driver.
 * Drivers add their own codes (SQLSTATE, HTTP status) before falling back to this.
 */
export function classifyNetworkError(source: string, err: unknown, target: string): SourceError | undefined {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new SourceError(source, `host ${target} does not resolve (${code})`, { kind: 'dns', cause: err });
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'EPIPE':
      return new SourceError(source, `cannot connect to ${target} (${code})`, { kind: 'unreachable', cause: err });
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new SourceError(source, `connection to ${target} timed out`, { kind: 'timeout', cause: err });
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new SourceError(source, `TLS to ${target} failed (${code})`, { kind: 'tls', cause: err });
    default:
      return undefined;
  }
}
