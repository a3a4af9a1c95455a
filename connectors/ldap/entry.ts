/**
 * A search entry as the connector sees it: attribute descriptions looked up case-insensitively
 * (servers answer `entryUUID`, `entryuuid` or `objectGUID` as they like), every attribute a list
 * of values, binary values as Buffers.
 */
import type { Entry } from 'ldapts';

export type LdapValue = string | Buffer;

export interface LdapEntry {
  dn: string;
  /** lower-cased attribute description (options included, e.g. `member;range=0-1499`) → values */
  attributes: Map<string, LdapValue[]>;
}

export function toLdapEntry(entry: Entry): LdapEntry {
  const attributes = new Map<string, LdapValue[]>();
  for (const [name, raw] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = (Array.isArray(raw) ? raw : [raw]) as LdapValue[];
    const key = name.toLowerCase();
    const existing = attributes.get(key);
    attributes.set(key, existing ? [...existing, ...values] : values);
  }
  return { dn: entry.dn, attributes };
}

/** A fake or recorded entry: `{ dn, attr: value | values }`. */
export function ldapEntry(dn: string, attrs: Record<string, LdapValue | LdapValue[]>): LdapEntry {
  return toLdapEntry({ dn, ...(attrs as Record<string, string | string[] | Buffer | Buffer[]>) });
}

export function rawValues(entry: LdapEntry, attribute: string): LdapValue[] {
  return entry.attributes.get(attribute.toLowerCase()) ?? [];
}

/** Text values (binary ones decoded as UTF-8). */
export function values(entry: LdapEntry, attribute: string): string[] {
  return rawValues(entry, attribute).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

export function first(entry: LdapEntry, ...attributes: string[]): string | undefined {
  for (const a of attributes) {
    const v = values(entry, a)[0];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export function firstBuffer(entry: LdapEntry, attribute: string): Buffer | undefined {
  const v = rawValues(entry, attribute)[0];
  if (v === undefined) return undefined;
  // a value that happened to be valid UTF-8 was decoded as text by the client: re-encoding gives the bytes back
  return Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
}

/** Attribute descriptions present on the entry whose base name is `attribute` (`member`, `member;range=…`). */
export function descriptionsOf(entry: LdapEntry, attribute: string): string[] {
  const base = attribute.toLowerCase();
  return [...entry.attributes.keys()].filter((k) => k === base || k.startsWith(`${base};`));
}
