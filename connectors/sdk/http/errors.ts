/**
 * ErrorHandler: what an HTTP answer means for the request that got it — success, retry with
 * backoff, rate-limited, refresh the token then retry once, or fail with a SourceError kind —
 * and how to read the provider's own error code and summary out of its body, so the message says
 * `GET /api/v1/users answered 401 E0000011: Invalid token provided`.
 *
 * Provider error bodies differ; each shape is a small ErrorSummaryStrategy:
 *   okta    { errorCode, errorSummary }
 *   graph   { error: { code, message } }
 *   google  { error: { code, message, status, errors: [{ reason }] } }
 *   auth0   { statusCode, error, message, errorCode }
 *   oauth   { error, error_description } (token endpoints, RFC 6749 §5.2)
 *   problem { title, detail } (RFC 9457), and `errors[0].message` (GraphQL, GitHub)
 * `genericErrorSummary` tries them all in that order.
 */
import type { SourceErrorKind } from '../errors.ts';
import type { HttpResponse } from './types.ts';

export type ErrorAction =
  | { action: 'success' }
  | { action: 'retry' }
  | { action: 'rate_limited' }
  | { action: 'refresh_token_then_retry' }
  | { action: 'fail'; kind: SourceErrorKind };

export interface ErrorSummary {
  /** the provider's error code or reason: `E0000011`, `Authorization_RequestDenied`, `invalid_client` */
  code?: string;
  /** its human summary */
  message?: string;
}

export type ErrorSummaryStrategy = (body: unknown) => ErrorSummary | undefined;

export interface ErrorHandler {
  summarize(body: unknown): ErrorSummary | undefined;
  interpret(response: HttpResponse<unknown>, summary: ErrorSummary | undefined): ErrorAction;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const orNone = (s: ErrorSummary): ErrorSummary | undefined => (s.code || s.message ? s : undefined);

export const errorSummaries = {
  okta: ((body) => {
    const b = obj(body);
    return b && typeof b.errorSummary === 'string' ? orNone({ code: str(b.errorCode), message: str(b.errorSummary) }) : undefined;
  }) as ErrorSummaryStrategy,
  google: ((body) => {
    const e = obj(obj(body)?.error);
    // Google's error object carries the numeric HTTP status as `code`; Graph's a string code
    if (!e || (typeof e.code !== 'number' && !Array.isArray(e.errors))) return undefined;
    const first = obj(Array.isArray(e.errors) ? e.errors[0] : undefined);
    return orNone({ code: str(first?.reason) ?? str(e.status), message: str(e.message) });
  }) as ErrorSummaryStrategy,
  graph: ((body) => {
    const e = obj(obj(body)?.error);
    return e && orNone({ code: typeof e.code === 'string' ? e.code : undefined, message: str(e.message) });
  }) as ErrorSummaryStrategy,
  oauth: ((body) => {
    const b = obj(body);
    // RFC 6749 `error` is a code; Auth0's `error` beside a `message` is only the status text
    const isOAuth = b && typeof b.error === 'string' && (b.error_description !== undefined || b.message === undefined);
    return isOAuth ? orNone({ code: str(b.error), message: str(b.error_description) }) : undefined;
  }) as ErrorSummaryStrategy,
  auth0: ((body) => {
    const b = obj(body);
    if (!b || str(b.message) === undefined) return undefined;
    return orNone({ code: str(b.errorCode) ?? str(b.error), message: str(b.message) });
  }) as ErrorSummaryStrategy,
  problem: ((body) => {
    const b = obj(body);
    if (!b) return undefined;
    const first = obj(Array.isArray(b.errors) ? b.errors[0] : undefined);
    return orNone({ code: str(b.code) ?? str(obj(first?.extensions)?.code), message: str(b.detail) ?? str(b.title) ?? str(first?.message) });
  }) as ErrorSummaryStrategy,
};

/** Tries every known shape in turn. */
export const genericErrorSummary: ErrorSummaryStrategy = (body) =>
  errorSummaries.okta(body) ??
  errorSummaries.google(body) ??
  errorSummaries.graph(body) ??
  errorSummaries.oauth(body) ??
  errorSummaries.auth0(body) ??
  errorSummaries.problem(body) ??
  (typeof body === 'string' && body.trim() !== '' && !/^\s*</.test(body) ? { message: body.trim() } : undefined);

/** `E0000011: Invalid token provided`, shortened to stay a one-line message. */
export function formatErrorSummary(summary: ErrorSummary | undefined, max = 300): string {
  if (!summary) return '';
  const text = [summary.code, summary.message].filter(Boolean).join(': ').replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const STATUS_ACTIONS: Record<number, ErrorAction> = {
  400: { action: 'fail', kind: 'config' },
  401: { action: 'refresh_token_then_retry' },
  403: { action: 'fail', kind: 'permission' },
  404: { action: 'fail', kind: 'config' },
  408: { action: 'retry' },
  425: { action: 'retry' },
  429: { action: 'rate_limited' },
  500: { action: 'retry' },
  502: { action: 'retry' },
  503: { action: 'retry' },
  504: { action: 'retry' },
};

export interface ErrorHandlerOptions {
  summary?: ErrorSummaryStrategy;
  /** per-status actions replacing the defaults */
  statuses?: Record<number, ErrorAction>;
  /** looked at first, for answers whose status does not tell (GraphQL `errors` with 200) */
  inspect?: (response: HttpResponse<unknown>, summary: ErrorSummary | undefined) => ErrorAction | undefined;
}

/**
 * 2xx success; 400/404 config; 401 refresh-then-retry (auth once refreshed); 403 permission;
 * 408/425/5xx retry; 429 rate-limited; any other 4xx config; 1xx/3xx protocol.
 */
export function createErrorHandler(opts: ErrorHandlerOptions = {}): ErrorHandler {
  const summary = opts.summary ?? genericErrorSummary;
  const statuses = { ...STATUS_ACTIONS, ...opts.statuses };
  return {
    summarize: (body) => (body === undefined || body === null ? undefined : summary(body)),
    interpret(response, s) {
      const inspected = opts.inspect?.(response, s);
      if (inspected) return inspected;
      const status = response.status;
      if (status >= 200 && status < 300) return { action: 'success' };
      const known = statuses[status];
      if (known) return known;
      if (status >= 500) return { action: 'retry' };
      if (status >= 400) return { action: 'fail', kind: 'config' };
      return { action: 'fail', kind: 'protocol' };
    },
  };
}

export const defaultErrorHandler: ErrorHandler = createErrorHandler();
