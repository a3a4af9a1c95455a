/**
 * Distinguished names and filter values: a canonical form to compare DNs the server spells
 * differently (`UID=Ann, ou=People` vs `uid=ann,ou=people`), subtree tests, and RFC 4515
 * escaping for values put into filters.
 */

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/** Splits at unescaped `sep` characters (a backslash escapes the next character or hex pair). */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === sep && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** An attribute value with escapes decoded, bytes as UTF-8. */
function unescapeValue(raw: string): string {
  let value = raw.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      const pair = value.slice(i + 1, i + 3);
      if (HEX_PAIR.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(value[i + 1]!, 'utf8'));
        i += 1;
      }
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 4514 escaping of one attribute value. */
function escapeValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * The canonical form used as a map key: attribute types and values lower-cased (the naming
 * attributes of users and groups match case-insensitively), spaces around separators dropped,
 * escapes normalized, multi-valued RDN parts sorted.
 */
export function normalizeDn(dn: string): string {
  if (dn.trim() === '') return '';
  return splitUnescaped(dn, ',')
    .map((rdn) =>
      splitUnescaped(rdn, '+')
        .map((ava) => {
          const eq = ava.indexOf('=');
          if (eq < 0) return ava.trim().toLowerCase();
          const type = ava.slice(0, eq).trim().toLowerCase();
          return `${type}=${escapeValue(unescapeValue(ava.slice(eq + 1))).toLowerCase()}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

/** Whether `dn` is `base` or below it (both normalized). */
export function isUnder(normalizedDn: string, normalizedBase: string): boolean {
  if (normalizedBase === '') return true;
  return normalizedDn === normalizedBase || normalizedDn.endsWith(`,${normalizedBase}`);
}

/** Drops base DNs that lie below another configured base (they would return entries twice). */
export function outermostBases(bases: string[]): string[] {
  const normalized = bases.map((b) => ({ raw: b, norm: normalizeDn(b) }));
  const kept: typeof normalized = [];
  for (const b of normalized) {
    if (kept.some((k) => k.norm === b.norm)) continue;
    if (normalized.some((o) => o.norm !== b.norm && isUnder(b.norm, o.norm))) continue;
    kept.push(b);
  }
  return kept.map((k) => k.raw);
}

/** RFC 4515 escaping of a value inside a filter: `*`, `(`, `)`, `\` and NUL. */
export function escapeFilterValue(value: string | Buffer): string {
  if (Buffer.isBuffer(value)) return [...value].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `(|(attr=v1)(attr=v2)…)`, or the single term for one value. */
export function anyOf(attribute: string, values: Array<string | Buffer>, escape = true): string {
  const terms = values.map((v) => `(${attribute}=${escape ? escapeFilterValue(v) : v})`);
  return terms.length === 1 ? terms[0]! : `(|${terms.join('')})`;
}

/** Makes sure a configured filter is wrapped in parentheses. */
export function wrapFilter(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

/** `(&a b …)` of the non-empty parts. */
export function allOf(...filters: Array<string | undefined>): string {
  const parts = filters.filter((f): f is string => !!f);
  return parts.length === 1 ? parts[0]! : `(&${parts.join('')})`;
}

/**
 * A bounded least-recently-used map: a Map keeps insertion order, so a hit is re-inserted at the
 * end and the first key is the one to drop.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    if (!this.map.has(key)) {
      this.misses++;
      return undefined;
    }
    const value = this.map.get(key) as V;
    this.map.delete(key);
    this.map.set(key, value);
    this.hits++;
    return value;
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }
}
