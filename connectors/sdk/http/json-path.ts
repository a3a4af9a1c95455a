/**
 * A small, safe subset of JSON path for picking records and cursors out of API answers:
 *   `$`                  the whole body
 *   `$.data.items`       properties (the leading `$.` is optional: `data.items`)
 *   `$['odd key']`       bracketed names (quotes ' or ")
 *   `$.items[0]`         array indexes
 *   `$.value[*]`, `$.*`  wildcards (array elements, object values)
 * Recursive descent (`..`), filters, slices, unions and scripts are refused: paths come from
 * admins' configs and run on untrusted bodies, so evaluation is a plain walk over own properties.
 */
import { SourceError } from '../errors.ts';

export type JsonPathSegment = { kind: 'property'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

export interface JsonPath {
  source: string;
  segments: JsonPathSegment[];
  hasWildcard: boolean;
}

const cache = new Map<string, JsonPath>();
const IDENT = /^[A-Za-z_$@\-][\w$@\-]*/;

function invalid(path: string, why: string): SourceError {
  return new SourceError('json-path', `"${path}" is not a supported JSON path: ${why}`, { kind: 'config' });
}

export function parseJsonPath(path: string): JsonPath {
  const cached = cache.get(path);
  if (cached) return cached;
  const src = path.trim();
  if (src.includes('..')) throw invalid(path, 'recursive descent (..) is not supported');
  let rest = src === '$' ? '' : src.startsWith('$.') || src.startsWith('$[') ? src.slice(1) : src === '' ? '' : `.${src}`;
  const segments: JsonPathSegment[] = [];
  while (rest.length > 0) {
    if (rest.startsWith('.')) {
      rest = rest.slice(1);
      if (rest.startsWith('*')) {
        segments.push({ kind: 'wildcard' });
        rest = rest.slice(1);
        continue;
      }
      const m = IDENT.exec(rest);
      if (!m) throw invalid(path, `expected a property name at "${rest.slice(0, 20)}"`);
      segments.push({ kind: 'property', name: m[0] });
      rest = rest.slice(m[0].length);
    } else if (rest.startsWith('[')) {
      const close = rest.startsWith("['") ? rest.indexOf("']") : rest.startsWith('["') ? rest.indexOf('"]') : rest.indexOf(']');
      if (close < 0) throw invalid(path, 'unclosed [');
      const inner = rest.startsWith("['") || rest.startsWith('["') ? rest.slice(2, close) : rest.slice(1, close);
      const quoted = rest.startsWith("['") || rest.startsWith('["');
      rest = rest.slice(close + (quoted ? 2 : 1));
      if (quoted) segments.push({ kind: 'property', name: inner });
      else if (inner === '*') segments.push({ kind: 'wildcard' });
      else if (/^\d+$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
      else throw invalid(path, `[${inner}] is not supported (only [n], [*] and ['name'])`);
    } else {
      throw invalid(path, `unexpected "${rest.slice(0, 20)}"`);
    }
  }
  const parsed: JsonPath = { source: src, segments, hasWildcard: segments.some((s) => s.kind === 'wildcard') };
  if (cache.size > 500) cache.clear();
  cache.set(path, parsed);
  return parsed;
}

function step(values: unknown[], segment: JsonPathSegment): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    if (v === null || typeof v !== 'object') continue;
    if (segment.kind === 'property') {
      if (!Array.isArray(v) && Object.hasOwn(v, segment.name)) out.push((v as Record<string, unknown>)[segment.name]);
    } else if (segment.kind === 'index') {
      if (Array.isArray(v) && segment.index < v.length) out.push(v[segment.index]);
    } else if (Array.isArray(v)) {
      out.push(...v);
    } else {
      out.push(...Object.values(v));
    }
  }
  return out;
}

/** Every value the path matches. */
export function queryJsonPath(value: unknown, path: string | JsonPath): unknown[] {
  const parsed = typeof path === 'string' ? parseJsonPath(path) : path;
  return parsed.segments.reduce<unknown[]>((values, segment) => step(values, segment), [value]);
}

/** The first value the path matches, or undefined. */
export function readJsonPath(value: unknown, path: string | JsonPath): unknown {
  return queryJsonPath(value, path)[0];
}

/**
 * The records a path designates: with a wildcard, every match; otherwise the single match, whose
 * elements are the records when it is an array (`$.data`), or itself when it is one object.
 */
export function selectJsonPath(value: unknown, path: string | JsonPath): unknown[] {
  const parsed = typeof path === 'string' ? parseJsonPath(path) : path;
  const matches = queryJsonPath(value, parsed);
  if (parsed.hasWildcard) return matches.filter((m) => m !== null && m !== undefined);
  const [only] = matches;
  if (only === null || only === undefined) return [];
  return Array.isArray(only) ? only : [only];
}

/** A value at a dot-notation path of a record (`address.city`); keys with dots win over nesting. */
export function valueAtDotPath(record: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(record, path)) return record[path];
  let current: unknown = record;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
