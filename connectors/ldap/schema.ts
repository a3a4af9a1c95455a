/**
 * The directory's subschema (RFC 4512 §4.1): attribute types and object classes parsed from the
 * subschema subentry the root DSE names, inheritance (SUP) resolved, and LDAP syntaxes mapped to
 * catalog field types. Active Directory quotes its SYNTAX OIDs and has no ordering of keywords we
 * can rely on, so parsing is by keyword, not by position.
 */
import { suggestSensitivity } from '../sdk/sensitivity.ts';
import type { CatalogField, FieldType } from '../sdk/types.ts';

export interface AttributeType {
  oid: string;
  names: string[];
  sup?: string;
  syntax?: string;
  singleValue: boolean;
  noUserModification: boolean;
  usage?: string;
  description?: string;
}

export interface ObjectClass {
  oid: string;
  names: string[];
  sup: string[];
  kind?: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  must: string[];
  may: string[];
}

type Token = { kind: 'open' | 'close' | 'dollar' } | { kind: 'word'; text: string } | { kind: 'quoted'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '(') (tokens.push({ kind: 'open' }), i++);
    else if (c === ')') (tokens.push({ kind: 'close' }), i++);
    else if (c === '$') (tokens.push({ kind: 'dollar' }), i++);
    else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, stop) });
      i = stop + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s()$']/.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const FLAGS = new Set(['OBSOLETE', 'SINGLE-VALUE', 'COLLECTIVE', 'NO-USER-MODIFICATION', 'ABSTRACT', 'STRUCTURAL', 'AUXILIARY']);

/** `( oid KEY value KEY ( v1 $ v2 ) FLAG … )` → oid and keyword → values (flags map to []). */
function parseDescription(text: string): { oid: string; keys: Map<string, string[]> } | undefined {
  const tokens = tokenize(text);
  if (tokens[0]?.kind !== 'open' || tokens[1] === undefined || (tokens[1].kind !== 'word' && tokens[1].kind !== 'quoted')) return undefined;
  const oid = tokens[1].text;
  const keys = new Map<string, string[]>();
  let i = 2;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind !== 'word') {
      i++;
      continue;
    }
    const key = t.text.toUpperCase();
    i++;
    if (FLAGS.has(key)) {
      keys.set(key, []);
      continue;
    }
    const next = tokens[i];
    if (next?.kind === 'open') {
      const list: string[] = [];
      i++;
      while (i < tokens.length && tokens[i]!.kind !== 'close') {
        const v = tokens[i]!;
        if (v.kind === 'word' || v.kind === 'quoted') list.push(v.text);
        i++;
      }
      i++;
      keys.set(key, list);
    } else if (next && (next.kind === 'word' || next.kind === 'quoted')) {
      keys.set(key, [next.text]);
      i++;
    }
  }
  return { oid, keys };
}

export function parseAttributeType(text: string): AttributeType | undefined {
  const d = parseDescription(text);
  if (!d) return undefined;
  const one = (k: string) => d.keys.get(k)?.[0];
  return {
    oid: d.oid,
    names: d.keys.get('NAME') ?? [],
    sup: one('SUP'),
    // a syntax may carry a length bound: 1.3.6.1.4.1.1466.115.121.1.15{256}
    syntax: one('SYNTAX')?.replace(/\{\d+\}$/, ''),
    singleValue: d.keys.has('SINGLE-VALUE'),
    noUserModification: d.keys.has('NO-USER-MODIFICATION'),
    usage: one('USAGE'),
    description: one('DESC'),
  };
}

export function parseObjectClass(text: string): ObjectClass | undefined {
  const d = parseDescription(text);
  if (!d) return undefined;
  const kind = (['ABSTRACT', 'STRUCTURAL', 'AUXILIARY'] as const).find((k) => d.keys.has(k));
  return { oid: d.oid, names: d.keys.get('NAME') ?? [], sup: d.keys.get('SUP') ?? [], kind, must: d.keys.get('MUST') ?? [], may: d.keys.get('MAY') ?? [] };
}

/** LDAP syntaxes (RFC 4517, RFC 4530, MS-ADTS) → [field type, readable name]. */
const SYNTAXES: Record<string, [FieldType, string]> = {
  '1.3.6.1.4.1.1466.115.121.1.3': ['string', 'Attribute Type Description'],
  '1.3.6.1.4.1.1466.115.121.1.4': ['binary', 'Audio'],
  '1.3.6.1.4.1.1466.115.121.1.5': ['binary', 'Binary'],
  '1.3.6.1.4.1.1466.115.121.1.6': ['string', 'Bit String'],
  '1.3.6.1.4.1.1466.115.121.1.7': ['boolean', 'Boolean'],
  '1.3.6.1.4.1.1466.115.121.1.8': ['binary', 'Certificate'],
  '1.3.6.1.4.1.1466.115.121.1.9': ['binary', 'Certificate List'],
  '1.3.6.1.4.1.1466.115.121.1.10': ['binary', 'Certificate Pair'],
  '1.3.6.1.4.1.1466.115.121.1.11': ['string', 'Country String'],
  '1.3.6.1.4.1.1466.115.121.1.12': ['string', 'DN'],
  '1.3.6.1.4.1.1466.115.121.1.14': ['string', 'Delivery Method'],
  '1.3.6.1.4.1.1466.115.121.1.15': ['string', 'Directory String'],
  '1.3.6.1.4.1.1466.115.121.1.22': ['string', 'Facsimile Telephone Number'],
  '1.3.6.1.4.1.1466.115.121.1.23': ['binary', 'Fax'],
  '1.3.6.1.4.1.1466.115.121.1.24': ['datetime', 'Generalized Time'],
  '1.3.6.1.4.1.1466.115.121.1.26': ['string', 'IA5 String'],
  '1.3.6.1.4.1.1466.115.121.1.27': ['integer', 'INTEGER'],
  '1.3.6.1.4.1.1466.115.121.1.28': ['binary', 'JPEG'],
  '1.3.6.1.4.1.1466.115.121.1.34': ['string', 'Name And Optional UID'],
  '1.3.6.1.4.1.1466.115.121.1.36': ['string', 'Numeric String'],
  '1.3.6.1.4.1.1466.115.121.1.38': ['string', 'OID'],
  '1.3.6.1.4.1.1466.115.121.1.39': ['string', 'Other Mailbox'],
  '1.3.6.1.4.1.1466.115.121.1.40': ['binary', 'Octet String'],
  '1.3.6.1.4.1.1466.115.121.1.41': ['string', 'Postal Address'],
  '1.3.6.1.4.1.1466.115.121.1.44': ['string', 'Printable String'],
  '1.3.6.1.4.1.1466.115.121.1.49': ['binary', 'Supported Algorithm'],
  '1.3.6.1.4.1.1466.115.121.1.50': ['string', 'Telephone Number'],
  '1.3.6.1.4.1.1466.115.121.1.51': ['string', 'Teletex Terminal Identifier'],
  '1.3.6.1.4.1.1466.115.121.1.52': ['string', 'Telex Number'],
  '1.3.6.1.4.1.1466.115.121.1.53': ['datetime', 'UTC Time'],
  '1.3.6.1.1.16.1': ['uuid', 'UUID'],
  '1.3.6.1.1.1.0.0': ['string', 'NIS netgroup triple'],
  '1.3.6.1.1.1.0.1': ['string', 'Boot parameter'],
  '1.2.840.113556.1.4.903': ['string', 'DN-Binary'],
  '1.2.840.113556.1.4.904': ['string', 'DN-String'],
  '1.2.840.113556.1.4.905': ['string', 'CaseExactString'],
  // AD Large Integer: 64-bit, kept as text (numbers above 2^53 lose digits in JSON)
  '1.2.840.113556.1.4.906': ['string', 'Large Integer'],
  '1.2.840.113556.1.4.907': ['binary', 'NT Security Descriptor'],
  '1.2.840.113556.1.4.1221': ['string', 'Case-Insensitive String'],
  '1.2.840.113556.1.4.1362': ['string', 'Case-Exact String'],
};

/** Attributes never offered: credentials and key material, whatever their syntax. */
const NEVER_OFFERED = new Set(
  ['userPassword', 'authPassword', 'unicodePwd', 'dBCSPwd', 'ntPwdHistory', 'lmPwdHistory', 'supplementalCredentials', 'userPKCS12', 'msDS-ManagedPassword', 'sambaNTPassword', 'sambaLMPassword'].map((n) => n.toLowerCase()),
);

export interface SchemaAttribute {
  name: string;
  type: FieldType;
  /** e.g. `Directory String (1.3.6.1.4.1.1466.115.121.1.15), multi-valued` */
  sourceType: string;
  singleValue: boolean;
  description?: string;
}

export class DirectorySchema {
  private readonly attributes = new Map<string, AttributeType>();
  private readonly classes = new Map<string, ObjectClass>();

  constructor(attributeTypes: string[], objectClasses: string[]) {
    for (const text of attributeTypes) {
      const a = parseAttributeType(text);
      if (!a) continue;
      this.attributes.set(a.oid.toLowerCase(), a);
      for (const n of a.names) this.attributes.set(n.toLowerCase(), a);
    }
    for (const text of objectClasses) {
      const c = parseObjectClass(text);
      if (!c) continue;
      this.classes.set(c.oid.toLowerCase(), c);
      for (const n of c.names) this.classes.set(n.toLowerCase(), c);
    }
  }

  get attributeCount(): number {
    return new Set(this.attributes.values()).size;
  }

  get classCount(): number {
    return new Set(this.classes.values()).size;
  }

  hasClass(name: string): boolean {
    return this.classes.has(name.toLowerCase());
  }

  attribute(name: string): AttributeType | undefined {
    return this.attributes.get(name.toLowerCase());
  }

  /** the syntax, following SUP to the supertype that names one */
  syntaxOf(name: string): string | undefined {
    let a = this.attribute(name);
    for (let depth = 0; a && depth < 20; depth++) {
      if (a.syntax) return a.syntax;
      a = a.sup ? this.attribute(a.sup) : undefined;
    }
    return undefined;
  }

  describe(name: string): SchemaAttribute | undefined {
    const a = this.attribute(name);
    if (!a) return undefined;
    const syntax = this.syntaxOf(name);
    const [type, label] = (syntax && SYNTAXES[syntax]) || ['string', syntax ? 'unknown syntax' : 'no syntax'];
    const canonical = a.names[0] ?? name;
    return {
      name: canonical,
      type: a.singleValue ? type : 'array',
      sourceType: `${label}${syntax ? ` (${syntax})` : ''}${a.singleValue ? '' : ', multi-valued'}`,
      singleValue: a.singleValue,
      description: a.description,
    };
  }

  /** the value type of one value of the attribute (for multi-valued ones: of each element) */
  valueType(name: string): FieldType {
    const syntax = this.syntaxOf(name);
    return (syntax && SYNTAXES[syntax]?.[0]) || 'string';
  }

  /** MUST and MAY attributes of the classes and their superclasses, MUST first; unknown classes are listed. */
  classAttributes(classNames: string[]): { must: string[]; may: string[]; unknownClasses: string[] } {
    const must = new Map<string, string>();
    const may = new Map<string, string>();
    const unknownClasses: string[] = [];
    const seen = new Set<ObjectClass>();
    const visit = (name: string, depth: number) => {
      const c = this.classes.get(name.toLowerCase());
      if (!c) {
        if (depth === 0) unknownClasses.push(name);
        return;
      }
      if (seen.has(c) || depth > 30) return;
      seen.add(c);
      for (const m of c.must) must.set(m.toLowerCase(), this.attribute(m)?.names[0] ?? m);
      for (const m of c.may) may.set(m.toLowerCase(), this.attribute(m)?.names[0] ?? m);
      for (const s of c.sup) visit(s, depth + 1);
    };
    for (const n of classNames) visit(n, 0);
    for (const k of must.keys()) may.delete(k);
    return { must: [...must.values()], may: [...may.values()], unknownClasses };
  }

  /**
   * Catalog fields for the attributes of these classes, minus the ones the normalized fields
   * already carry and credentials / binary blobs, sorted by name.
   */
  extraFields(classNames: string[], exclude: string[]): CatalogField[] {
    const { must, may } = this.classAttributes(classNames);
    const skip = new Set(exclude.map((e) => e.toLowerCase()));
    const fields: CatalogField[] = [];
    const add = (name: string, required: boolean) => {
      const d = this.describe(name);
      if (!d || skip.has(d.name.toLowerCase()) || NEVER_OFFERED.has(d.name.toLowerCase())) return;
      if (this.valueType(name) === 'binary') return;
      skip.add(d.name.toLowerCase());
      fields.push({
        name: d.name,
        type: d.type,
        sourceType: d.sourceType,
        nullable: !required,
        suggestedSensitivity: suggestSensitivity(d.name, this.valueType(name)),
        description: `LDAP attribute ${d.name}${d.description ? `: ${d.description}` : ''} (also under attributes.${d.name})`,
      });
    };
    for (const m of must) add(m, true);
    for (const m of may) add(m, false);
    return fields.sort((a, b) => a.name.localeCompare(b.name));
  }
}
