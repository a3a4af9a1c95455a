/**
 * The request and response shapes every piece of the HTTP machinery speaks: the Requester sends
 * an `HttpRequest`, paginators derive the next one from the last `HttpResponse`, record selectors
 * pick records out of its body.
 */

export type QueryScalar = string | number | boolean;
export type QueryValue = QueryScalar | QueryScalar[] | null | undefined;

export interface HttpRequest {
  /** default GET */
  method?: string;
  /** absolute, or relative to the Requester's `baseUrl` */
  url: string;
  /** merged into the URL's query (a value here replaces the same name in `url`); null/undefined are left out */
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** a plain value is sent as JSON; a string as is; URLSearchParams as a form */
  body?: unknown;
  /** how to read the answer: `auto` (default) parses JSON when the content type says so, else text */
  responseType?: 'auto' | 'json' | 'text';
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  /** the URL that answered (after redirects), without credentials the auth strategy added */
  url: string;
}

/** `GET /api/v1/users` — what error messages and rate-limit reasons name (never the query string). */
export function describeRequest(method: string | undefined, url: string | URL): string {
  const u = typeof url === 'string' ? safeUrl(url) : url;
  return `${(method ?? 'GET').toUpperCase()} ${u ? u.pathname : '(invalid URL)'}`;
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
