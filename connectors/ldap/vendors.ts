/**
 * What differs between directory servers, as strategy objects (Backstage's LDAP `vendors.ts`):
 * the stable id attribute and how to decode it, default filters and object classes, which
 * attribute feeds which normalized field, the account status, how DNs are looked up in a filter,
 * how multi-valued attributes arrive (AD's range retrieval), and the change cursor incremental
 * reads keep as state.
 *
 *   OpenLDAP          entryUUID, (entryDN=…) lookups, cursor modifyTimestamp (generalized time)
 *   Active Directory  objectGUID (16 bytes → canonical GUID string), (distinguishedName=…)
 *                     lookups, userAccountControl's ACCOUNTDISABLE bit, member;range=…
 *                     retrieval above 1,500 values, cursor uSNChanged from highestCommittedUSN
 */
import { SourceError } from '../sdk/errors.ts';
import { escapeFilterValue } from './dn.ts';
import { descriptionsOf, first, firstBuffer, values, type LdapEntry } from './entry.ts';

export const SOURCE = 'ldap';

export type VendorName = 'openldap' | 'active_directory';

/** The root DSE attributes the connector uses. */
export interface RootDse {
  namingContexts: string[];
  subschemaSubentry?: string;
  supportedControls: string[];
  supportedExtensions: string[];
  supportedCapabilities: string[];
  vendorName?: string;
  vendorVersion?: string;
  forestFunctionality?: string;
  rootDomainNamingContext?: string;
  defaultNamingContext?: string;
  highestCommittedUSN?: string;
  dnsHostName?: string;
}

export const ROOT_DSE_ATTRIBUTES = [
  'namingContexts',
  'subschemaSubentry',
  'supportedControl',
  'supportedExtension',
  'supportedCapabilities',
  'supportedLDAPVersion',
  'vendorName',
  'vendorVersion',
  'forestFunctionality',
  'domainFunctionality',
  'rootDomainNamingContext',
  'defaultNamingContext',
  'highestCommittedUSN',
  'dnsHostName',
];

export const OID = {
  pagedResults: '1.2.840.113556.1.4.319',
  startTls: '1.3.6.1.4.1.1466.20037',
  activeDirectory: '1.2.840.113556.1.4.800',
  activeDirectoryLds: '1.2.840.113556.1.4.1851',
} as const;

export function parseRootDse(entry: LdapEntry | undefined): RootDse {
  if (!entry) return { namingContexts: [], supportedControls: [], supportedExtensions: [], supportedCapabilities: [] };
  return {
    namingContexts: values(entry, 'namingContexts'),
    subschemaSubentry: first(entry, 'subschemaSubentry'),
    supportedControls: values(entry, 'supportedControl'),
    supportedExtensions: values(entry, 'supportedExtension'),
    supportedCapabilities: values(entry, 'supportedCapabilities'),
    vendorName: first(entry, 'vendorName'),
    vendorVersion: first(entry, 'vendorVersion'),
    forestFunctionality: first(entry, 'forestFunctionality'),
    rootDomainNamingContext: first(entry, 'rootDomainNamingContext'),
    defaultNamingContext: first(entry, 'defaultNamingContext'),
    highestCommittedUSN: first(entry, 'highestCommittedUSN'),
    dnsHostName: first(entry, 'dnsHostName'),
  };
}

/** Active Directory (and AD LDS) announce themselves in the root DSE; anything else is treated like OpenLDAP. */
export function detectVendorName(dse: RootDse): VendorName {
  const ad =
    dse.forestFunctionality !== undefined ||
    dse.rootDomainNamingContext !== undefined ||
    dse.supportedCapabilities.includes(OID.activeDirectory) ||
    dse.supportedCapabilities.includes(OID.activeDirectoryLds);
  return ad ? 'active_directory' : 'openldap';
}

// ---------------------------------------------------------------------------------------------
// generalized time (RFC 4517 §3.3.13)

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)?$/;

/** Milliseconds since the epoch, or undefined when the text is not generalized time. */
export function generalizedTimeToMillis(text: string): number | undefined {
  const m = GENERALIZED_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  // a fraction applies to the last unit given (hours, minutes or seconds)
  const unitMs = s !== undefined ? 1000 : mi !== undefined ? 60_000 : 3_600_000;
  const fraction = frac ? Number(`0.${frac}`) * unitMs : 0;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0), Number(s ?? 0)) + Math.round(fraction);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || 0);
    ms -= sign * offset * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

export function generalizedTimeToIso(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = generalizedTimeToMillis(text);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** `YYYYMMDDHHMMSSZ` (whole seconds, as OpenLDAP stores modifyTimestamp). */
export function toGeneralizedTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
}

// ---------------------------------------------------------------------------------------------
// AD objectGUID

/** The 16 bytes of a GUID as Windows writes it: the first three groups little-endian. */
export function guidToString(bytes: Buffer): string {
  if (bytes.length !== 16) throw new SourceError(SOURCE, `objectGUID has ${bytes.length} bytes, expected 16`, { kind: 'protocol' });
  const hex = (order: number[]) => order.map((i) => bytes[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The bytes of a canonical GUID string (inverse of guidToString); undefined when not a GUID. */
export function guidToBytes(guid: string): Buffer | undefined {
  if (!GUID.test(guid)) return undefined;
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

// ---------------------------------------------------------------------------------------------
// range retrieval (AD: at most 1,500 values of a multi-valued attribute per answer)

const RANGE = /;range=(\d+)-(\d+|\*)$/i;

/** Reads `attribute;range=<low>-*` of one entry (a base-scope search); undefined when it is gone. */
export type RangeFetcher = (dn: string, attributeWithRange: string) => Promise<LdapEntry | undefined>;

/**
 * The `attr;range=…` description the server answered with. ldapts adds every requested
 * description it did not get back as an empty list (so `member;range=1500-*` may sit empty beside
 * the real `member;range=1500-2999`): one with values wins.
 */
function rangedDescription(entry: LdapEntry, attribute: string): string | undefined {
  const ranged = descriptionsOf(entry, attribute).filter((d) => RANGE.test(d));
  return ranged.find((d) => (entry.attributes.get(d)?.length ?? 0) > 0) ?? ranged[0];
}

/**
 * The values of a multi-valued attribute, chunk by chunk: the entry's own values, then, while the
 * server answered with `attr;range=<low>-<high>`, the next range `attr;range=<high+1>-*` until a
 * range ends in `*`. A server without ranges (OpenLDAP) gives one chunk.
 */
export async function* rangedValues(entry: LdapEntry, attribute: string, fetch: RangeFetcher): AsyncGenerator<string[]> {
  const ranged = rangedDescription(entry, attribute);
  if (!ranged) {
    const plain = values(entry, attribute);
    if (plain.length > 0) yield plain;
    return;
  }
  let current = RANGE.exec(ranged)!;
  yield values(entry, ranged);
  for (let guard = 0; current[2] !== '*'; guard++) {
    const next = Number(current[2]) + 1;
    if (guard > 100_000) throw new SourceError(SOURCE, `range retrieval of ${attribute} on ${entry.dn} does not end`, { kind: 'protocol' });
    const more = await fetch(entry.dn, `${attribute};range=${next}-*`);
    if (!more) return; // the entry went away between the page and the range read
    const r = rangedDescription(more, attribute);
    if (!r) {
      // some servers answer the rest without a range option
      const rest = values(more, attribute);
      if (rest.length > 0) yield rest;
      return;
    }
    const parsed = RANGE.exec(r)!;
    if (Number(parsed[1]) !== next) {
      throw new SourceError(SOURCE, `range retrieval of ${attribute} on ${entry.dn} asked for ${next}-* and got ${parsed[1]}-${parsed[2]}`, { kind: 'protocol' });
    }
    yield values(more, r);
    current = parsed;
  }
}

// ---------------------------------------------------------------------------------------------
// change cursors

export interface CursorState {
  vendor: VendorName;
  attribute: string;
  /** the high-water mark: generalized time (OpenLDAP) or a USN (AD) */
  since: string;
  /** whether entries exactly at `since` are read again */
  inclusive: boolean;
  /** the server the USN belongs to (USNs are per domain controller) */
  server?: string;
}

export interface ChangeCursor {
  attribute: string;
  /** the mark taken before the read starts */
  startMark(dse: RootDse, now: Date): string | undefined;
  /** a stored state this cursor can continue from (same vendor, attribute and server) */
  accepts(state: unknown, dse: RootDse): state is CursorState;
  /** the filter of entries changed since the state */
  filter(state: CursorState): string;
  /** the larger of `maxSeen` and the entry's cursor value */
  observe(maxSeen: string | undefined, entry: LdapEntry): string | undefined;
  /** the state after a complete read */
  next(opts: { previous?: CursorState; startMark?: string; maxSeen?: string; dse: RootDse }): CursorState;
}

/** Clocks of the service and the directory may differ by this much (see modifyTimestampCursor). */
export const CLOCK_SKEW_MS = 5 * 60_000;

function isCursorState(state: unknown): state is CursorState {
  const s = state as Partial<CursorState> | undefined;
  return !!s && typeof s.since === 'string' && typeof s.attribute === 'string' && typeof s.vendor === 'string' && typeof s.inclusive === 'boolean';
}

/**
 * OpenLDAP's modifyTimestamp has whole seconds and entries change while a read pages through
 * them, so the mark is not simply the largest timestamp seen: an entry changed during the read
 * after its page went by would be older than a later entry's timestamp. When the largest
 * timestamp seen is older than the read's start (less the clock skew allowance), nothing changed
 * during the read and it is exact (later reads take what is strictly newer); otherwise later reads
 * start from the read's start less the skew allowance, inclusive, and may see a few entries again.
 */
export const modifyTimestampCursor: ChangeCursor = {
  attribute: 'modifyTimestamp',
  startMark: (_dse, now) => toGeneralizedTime(new Date(now.getTime() - CLOCK_SKEW_MS)),
  accepts: (state): state is CursorState =>
    isCursorState(state) && state.vendor === 'openldap' && state.attribute === 'modifyTimestamp' && generalizedTimeToMillis(state.since) !== undefined,
  filter(state) {
    const v = escapeFilterValue(state.since);
    return state.inclusive ? `(modifyTimestamp>=${v})` : `(&(modifyTimestamp>=${v})(!(modifyTimestamp=${v})))`;
  },
  observe(maxSeen, entry) {
    const t = first(entry, 'modifyTimestamp');
    const ms = t === undefined ? undefined : generalizedTimeToMillis(t);
    if (ms === undefined) return maxSeen;
    return maxSeen === undefined || ms > generalizedTimeToMillis(maxSeen)! ? t : maxSeen;
  },
  next({ previous, startMark, maxSeen }) {
    const start = startMark!;
    if (maxSeen === undefined) return previous ?? { vendor: 'openldap', attribute: 'modifyTimestamp', since: start, inclusive: true };
    if (generalizedTimeToMillis(maxSeen)! < generalizedTimeToMillis(start)!) {
      return { vendor: 'openldap', attribute: 'modifyTimestamp', since: maxSeen, inclusive: false };
    }
    return { vendor: 'openldap', attribute: 'modifyTimestamp', since: start, inclusive: true };
  },
};

const isUsn = (s: string | undefined): s is string => s !== undefined && /^\d+$/.test(s);

/**
 * AD's update sequence number: every change on a domain controller takes the next USN, and the
 * root DSE's highestCommittedUSN read before the search covers everything the search can see,
 * so the next read asks for `uSNChanged >= mark + 1`. USNs are per domain controller: a state
 * from another server is not used (the read starts over).
 */
export const usnChangedCursor: ChangeCursor = {
  attribute: 'uSNChanged',
  startMark: (dse) => (isUsn(dse.highestCommittedUSN) ? dse.highestCommittedUSN : undefined),
  accepts: (state, dse): state is CursorState =>
    isCursorState(state) &&
    state.vendor === 'active_directory' &&
    state.attribute === 'uSNChanged' &&
    isUsn(state.since) &&
    (state.server === undefined || dse.dnsHostName === undefined || state.server.toLowerCase() === dse.dnsHostName.toLowerCase()),
  filter: (state) => `(uSNChanged>=${(BigInt(state.since) + (state.inclusive ? 0n : 1n)).toString()})`,
  observe(maxSeen, entry) {
    const v = first(entry, 'uSNChanged');
    if (!isUsn(v)) return maxSeen;
    return maxSeen === undefined || BigInt(v) > BigInt(maxSeen) ? v : maxSeen;
  },
  next({ previous, startMark, maxSeen, dse }) {
    const since = startMark ?? maxSeen ?? previous?.since ?? '0';
    return { vendor: 'active_directory', attribute: 'uSNChanged', since, inclusive: false, server: dse.dnsHostName };
  },
};

// ---------------------------------------------------------------------------------------------
// the strategies

/** Which attributes feed which normalized field (first present wins). */
export interface FieldSources {
  email: string[];
  username: string[];
  displayName: string[];
  givenName: string[];
  familyName: string[];
  department: string[];
  title: string[];
  manager: string;
  updatedAt: string;
  groupName: string[];
  groupDescription: string[];
}

export interface LdapVendor {
  name: VendorName;
  displayName: string;
  idAttribute: string;
  /** attributes the client must hand over as bytes */
  binaryAttributes: string[];
  defaultUserFilter: string;
  defaultGroupFilter: string;
  defaultUserObjectClasses: string[];
  defaultGroupObjectClasses: string[];
  fields: FieldSources;
  /** attributes read to decide the user's status / the group's kind */
  statusAttributes: string[];
  groupKindAttributes: string[];
  memberAttributes: string[];
  /** the attribute holding an entry's own DN, for `(|(attr=dn1)(attr=dn2)…)` lookups */
  dnAttribute: string;
  cursor: ChangeCursor;
  /** the entry's stable id, or undefined when it has none */
  id(entry: LdapEntry): string | undefined;
  /** a filter matching the entry with this id; undefined when `id` cannot be one */
  idFilter(id: string): string | undefined;
  userStatus(entry: LdapEntry): string;
  groupKind(entry: LdapEntry): string | undefined;
  /** member DNs of a group, chunk by chunk (range retrieval where the server needs it) */
  members(entry: LdapEntry, fetch: RangeFetcher): AsyncGenerator<string[]>;
}

const UNIQUE_MEMBER_UID = /#'[01]*'B$/;

async function* memberDns(attributes: string[], entry: LdapEntry, fetch: RangeFetcher): AsyncGenerator<string[]> {
  for (const attribute of attributes) {
    for await (const chunk of rangedValues(entry, attribute, fetch)) {
      // uniqueMember may carry an optional unique identifier: `dn#'0101'B`
      yield attribute.toLowerCase() === 'uniquemember' ? chunk.map((v) => v.replace(UNIQUE_MEMBER_UID, '')) : chunk;
    }
  }
}

export const openLdapVendor: LdapVendor = {
  name: 'openldap',
  displayName: 'OpenLDAP',
  idAttribute: 'entryUUID',
  binaryAttributes: [],
  defaultUserFilter: '(objectClass=inetOrgPerson)',
  defaultGroupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
  defaultUserObjectClasses: ['inetOrgPerson'],
  defaultGroupObjectClasses: ['groupOfNames'],
  fields: {
    email: ['mail'],
    username: ['uid'],
    displayName: ['displayName', 'cn'],
    givenName: ['givenName'],
    familyName: ['sn'],
    department: ['departmentNumber', 'ou'],
    title: ['title'],
    manager: 'manager',
    updatedAt: 'modifyTimestamp',
    groupName: ['cn'],
    groupDescription: ['description'],
  },
  // set by the ppolicy overlay on a locked account (absent elsewhere; asking for it is harmless)
  statusAttributes: ['pwdAccountLockedTime'],
  groupKindAttributes: [],
  memberAttributes: ['member', 'uniqueMember'],
  dnAttribute: 'entryDN',
  cursor: modifyTimestampCursor,
  id: (entry) => first(entry, 'entryUUID')?.toLowerCase(),
  idFilter: (id) => (GUID.test(id) ? `(entryUUID=${escapeFilterValue(id)})` : undefined),
  userStatus: (entry) => (first(entry, 'pwdAccountLockedTime') !== undefined ? 'suspended' : 'active'),
  groupKind: () => undefined,
  members: (entry, fetch) => memberDns(['member', 'uniqueMember'], entry, fetch),
};

/** userAccountControl flags (MS-ADTS 2.2.16) */
export const UAC = { accountDisable: 0x2, lockout: 0x10 } as const;
/** groupType flag of security groups (MS-ADTS 2.2.12) */
const GROUP_TYPE_SECURITY = 0x80000000;

export const activeDirectoryVendor: LdapVendor = {
  name: 'active_directory',
  displayName: 'Active Directory',
  idAttribute: 'objectGUID',
  binaryAttributes: ['objectGUID', 'objectSid'],
  defaultUserFilter: '(&(objectCategory=person)(objectClass=user))',
  defaultGroupFilter: '(objectClass=group)',
  defaultUserObjectClasses: ['user'],
  defaultGroupObjectClasses: ['group'],
  fields: {
    email: ['mail'],
    username: ['sAMAccountName', 'userPrincipalName'],
    displayName: ['displayName', 'cn'],
    givenName: ['givenName'],
    familyName: ['sn'],
    department: ['department'],
    title: ['title'],
    manager: 'manager',
    updatedAt: 'whenChanged',
    groupName: ['cn', 'sAMAccountName'],
    groupDescription: ['description'],
  },
  statusAttributes: ['userAccountControl'],
  groupKindAttributes: ['groupType'],
  memberAttributes: ['member'],
  dnAttribute: 'distinguishedName',
  cursor: usnChangedCursor,
  id(entry) {
    const bytes = firstBuffer(entry, 'objectGUID');
    return bytes === undefined ? undefined : guidToString(bytes);
  },
  idFilter(id) {
    const bytes = guidToBytes(id);
    return bytes === undefined ? undefined : `(objectGUID=${escapeFilterValue(bytes)})`;
  },
  userStatus(entry) {
    const uac = Number(first(entry, 'userAccountControl'));
    if (!Number.isFinite(uac)) return 'active';
    return (uac & UAC.accountDisable) !== 0 ? 'suspended' : 'active';
  },
  groupKind(entry) {
    const type = Number(first(entry, 'groupType'));
    if (!Number.isFinite(type)) return undefined;
    return (type & GROUP_TYPE_SECURITY) !== 0 ? 'security' : 'distribution';
  },
  members: (entry, fetch) => memberDns(['member'], entry, fetch),
};

export const VENDORS: Record<VendorName, LdapVendor> = {
  openldap: openLdapVendor,
  active_directory: activeDirectoryVendor,
};

export function vendorFor(setting: 'auto' | VendorName, dse: RootDse): LdapVendor {
  return VENDORS[setting === 'auto' ? detectVendorName(dse) : setting];
}
