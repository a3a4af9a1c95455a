/**
 * RecordSelector: which part of a response body holds the records of a page.
 * `jsonPathSelector('$.data.items')` for declared paths, `functionSelector(fn)` for anything else.
 * A missing path is an empty page (Google leaves `users` out when there are none); a body that
 * is not JSON is a protocol error, so a misconfigured endpoint never reads as "no records".
 */
import { SourceError } from '../errors.ts';
import { parseJsonPath, selectJsonPath } from './json-path.ts';
import { describeRequest, type HttpResponse } from './types.ts';

export interface RecordSelector<T> {
  select(response: HttpResponse<unknown>): T[];
}

function requireJson(source: string, response: HttpResponse<unknown>): void {
  if (response.body === null || typeof response.body !== 'object') {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new SourceError(source, `${describeRequest('GET', response.url).slice(4)} answered ${type}, not a JSON document`, {
      kind: 'protocol',
      detail: { status: response.status },
    });
  }
}

export function jsonPathSelector<T = Record<string, unknown>>(path: string, opts: { source?: string } = {}): RecordSelector<T> {
  const parsed = parseJsonPath(path);
  const source = opts.source ?? 'http';
  return {
    select(response) {
      requireJson(source, response);
      return selectJsonPath(response.body, parsed) as T[];
    },
  };
}

export function functionSelector<T>(fn: (body: unknown, response: HttpResponse<unknown>) => T[] | undefined | null): RecordSelector<T> {
  return { select: (response) => fn(response.body, response) ?? [] };
}
