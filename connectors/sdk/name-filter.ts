/**
 * Include / exclude filters for schema and table names.
 * A pattern is a glob (`*` any run of characters, `?` one character, matched case-insensitively
 * against the whole name) or a regular expression written between slashes (`/^hr_.*$/i`).
 * A glob containing a dot is matched against `schema.table`, otherwise against the table name
 * alone; a regex is tried against both. Exclusion wins over inclusion; no include list means "everything".
 */
import { SourceError } from './errors.ts';

export interface NameFilterOptions {
  include?: string[];
  exclude?: string[];
}

export type NameMatcher = (name: string, namespace?: string) => boolean;

const MAX_PATTERN = 256;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Pattern {
  re: RegExp;
  kind: 'glob' | 'regex';
  /** a glob containing a dot is matched against `schema.table` */
  qualified: boolean;
}

function compilePattern(pattern: string, source: string): Pattern {
  if (pattern.length > MAX_PATTERN) throw new SourceError(source, 'a name pattern is longer than 256 characters', { kind: 'config' });
  const regex = /^\/(.+)\/([imsu]*)$/.exec(pattern);
  if (regex) {
    try {
      return { re: new RegExp(regex[1] as string, regex[2]), kind: 'regex', qualified: false };
    } catch (err) {
      throw new SourceError(source, `invalid regular expression ${pattern}`, { kind: 'config', cause: err });
    }
  }
  const body = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c))).join('');
  return { re: new RegExp(`^${body}$`, 'i'), kind: 'glob', qualified: pattern.includes('.') };
}

/** Builds a matcher; an invalid pattern throws SourceError(kind 'config') at once. */
export function createNameFilter(opts: NameFilterOptions, source = 'sql'): NameMatcher {
  const include = (opts.include ?? []).filter((p) => p.trim() !== '').map((p) => compilePattern(p.trim(), source));
  const exclude = (opts.exclude ?? []).filter((p) => p.trim() !== '').map((p) => compilePattern(p.trim(), source));
  const test = (p: Pattern, name: string, namespace?: string): boolean => {
    const qualifiedName = namespace === undefined ? name : `${namespace}.${name}`;
    if (p.kind === 'glob') return p.re.test(p.qualified ? qualifiedName : name);
    // a regex sees both, so /^hr\./ can select a schema and /^tmp_/ a table prefix
    return p.re.test(name) || p.re.test(qualifiedName);
  };
  return (name, namespace) => {
    if (exclude.some((p) => test(p, name, namespace))) return false;
    return include.length === 0 || include.some((p) => test(p, name, namespace));
  };
}
