/**
 * The vendor strategies without a server: Active Directory's shapes (objectGUID bytes,
 * userAccountControl, groupType, member;range=… retrieval, uSNChanged) from the recorded-shape
 * fake in test/fakes/active-directory.ts, OpenLDAP's cursor, DN handling and the subschema parser.
 */
import { BerWriter, type Filter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { FakeActiveDirectory, MAX_VAL_RANGE } from '../../test/fakes/active-directory.ts';
import { toLdapFilter } from './client.ts';
import { isUnder, LruCache, normalizeDn, outermostBases } from './dn.ts';
import { ldapEntry, type LdapEntry } from './entry.ts';
import { DirectorySchema, parseAttributeType, parseObjectClass } from './schema.ts';
import {
  activeDirectoryVendor,
  CLOCK_SKEW_MS,
  detectVendorName,
  generalizedTimeToIso,
  guidToBytes,
  guidToString,
  modifyTimestampCursor,
  openLdapVendor,
  parseRootDse,
  toGeneralizedTime,
  usnChangedCursor,
  vendorFor,
  type RangeFetcher,
} from './vendors.ts';

async function chunksOf(entry: LdapEntry, fetch: RangeFetcher, vendor = activeDirectoryVendor): Promise<string[][]> {
  const out: string[][] = [];
  for await (const chunk of vendor.members(entry, fetch)) out.push(chunk);
  return out;
}

describe('vendor detection from the root DSE', () => {
  it('recognizes Active Directory by forestFunctionality, rootDomainNamingContext or capability 1.2.840.113556.1.4.800', () => {
    const ad = new FakeActiveDirectory();
    expect(detectVendorName(parseRootDse(ad.rootDse()))).toBe('active_directory');
    const onlyCapability = parseRootDse(ldapEntry('', { supportedCapabilities: '1.2.840.113556.1.4.800' }));
    expect(detectVendorName(onlyCapability)).toBe('active_directory');
    const onlyRoot = parseRootDse(ldapEntry('', { rootDomainNamingContext: 'DC=x,DC=y' }));
    expect(detectVendorName(onlyRoot)).toBe('active_directory');
  });

  it('treats a root DSE without AD markers as OpenLDAP, and honours an explicit vendor', () => {
    const openldap = parseRootDse(ldapEntry('', { namingContexts: 'dc=example,dc=org', supportedControl: ['1.2.840.113556.1.4.319'], subschemaSubentry: 'cn=Subschema' }));
    expect(detectVendorName(openldap)).toBe('openldap');
    expect(vendorFor('auto', openldap)).toBe(openLdapVendor);
    expect(vendorFor('active_directory', openldap)).toBe(activeDirectoryVendor);
  });
});

describe('Active Directory strategy', () => {
  it('turns objectGUID bytes into the canonical GUID string and back into a filter', () => {
    const bytes = Buffer.from([0x3c, 0x2e, 0x8c, 0x4f, 0x9a, 0x1b, 0xd2, 0x11, 0xa7, 0x6e, 0x00, 0xc0, 0x4f, 0xb9, 0x86, 0x2a]);
    const guid = guidToString(bytes);
    // first three groups byte-swapped (little-endian), the rest in order
    expect(guid).toBe('4f8c2e3c-1b9a-11d2-a76e-00c04fb9862a');
    expect(guidToBytes(guid)!.equals(bytes)).toBe(true);
    expect(activeDirectoryVendor.id(ldapEntry('CN=x', { objectGUID: bytes }))).toBe(guid);
    expect(activeDirectoryVendor.idFilter(guid)).toBe('(objectGUID=\\3c\\2e\\8c\\4f\\9a\\1b\\d2\\11\\a7\\6e\\00\\c0\\4f\\b9\\86\\2a)');
    expect(activeDirectoryVendor.idFilter('not-a-guid)(objectClass=*')).toBeUndefined();
    expect(() => guidToString(Buffer.alloc(15))).toThrow(/16/);
  });

  it('sends an objectGUID lookup to the server as the 16 raw bytes', () => {
    const bytes = Buffer.from([0x3c, 0x2e, 0x8c, 0x4f, 0x9a, 0x1b, 0xd2, 0x11, 0xa7, 0x6e, 0x00, 0xc0, 0x4f, 0xb9, 0x86, 0x2a]);
    const text = `(&(objectClass=user)(|${activeDirectoryVendor.idFilter(guidToString(bytes))}(cn=Zoë)))`;
    const filter = toLdapFilter(text, activeDirectoryVendor.binaryAttributes) as Filter;
    const writer = new BerWriter();
    filter.write(writer);
    // ldapts alone would write every escaped byte above 0x7f as two UTF-8 bytes
    expect(writer.buffer.includes(bytes)).toBe(true);
    expect(writer.buffer.includes(Buffer.from('Zoë', 'utf8'))).toBe(true);
    expect(toLdapFilter('(entryDN=uid=a,dc=x)', openLdapVendor.binaryAttributes)).toBe('(entryDN=uid=a,dc=x)');
  });

  it('reads the ACCOUNTDISABLE bit of userAccountControl as suspended', () => {
    const status = (uac: string) => activeDirectoryVendor.userStatus(ldapEntry('CN=u', { userAccountControl: uac }));
    expect(status('512')).toBe('active'); // NORMAL_ACCOUNT
    expect(status('514')).toBe('suspended'); // NORMAL_ACCOUNT | ACCOUNTDISABLE
    expect(status('66050')).toBe('suspended'); // + DONT_EXPIRE_PASSWORD
    expect(status('66048')).toBe('active');
    expect(status('528')).toBe('active'); // LOCKOUT is not a disabled account
  });

  it('tells security from distribution groups by groupType', () => {
    const kind = (t: string) => activeDirectoryVendor.groupKind(ldapEntry('CN=g', { groupType: t }));
    expect(kind('-2147483646')).toBe('security'); // global security
    expect(kind('-2147483644')).toBe('security'); // domain local security
    expect(kind('2')).toBe('distribution');
    expect(kind('8')).toBe('distribution');
  });

  it('retrieves a 3,200-member group range by range as AD answers it', async () => {
    const ad = new FakeActiveDirectory();
    const members = Array.from({ length: 3200 }, (_, i) => ad.addUser(`User ${i}`).dn);
    const group = ad.addGroup('Everyone', members);
    const [entry] = await ad.client().search({ base: group.dn, filter: '(objectClass=group)', attributes: ['objectGUID', 'member'] });
    // the page answer: the first range only, and the empty `member` ldapts adds
    expect([...entry!.attributes.keys()].filter((k) => k.startsWith('member')).sort()).toEqual(['member', 'member;range=0-1499']);

    const fetch: RangeFetcher = (dn, attr) => ad.client().read(dn, [attr]);
    const chunks = await chunksOf(entry!, fetch);
    expect(chunks.map((c) => c.length)).toEqual([MAX_VAL_RANGE, MAX_VAL_RANGE, 200]);
    expect(chunks.flat()).toEqual(members);
    expect(ad.calls.filter((c) => c.op === 'read').map((c) => c.attributes)).toEqual([['member;range=1500-*'], ['member;range=3000-*']]);
  });

  it('needs no range step for a group of exactly 1,500 or fewer members', async () => {
    const ad = new FakeActiveDirectory();
    const group = ad.addGroup('Small', Array.from({ length: MAX_VAL_RANGE }, (_, i) => `CN=U${i},OU=Staff,DC=corp,DC=example,DC=com`));
    const [entry] = await ad.client().search({ base: group.dn, filter: '(objectClass=group)', attributes: ['member'] });
    const fetch: RangeFetcher = () => Promise.reject(new Error('no range read expected'));
    expect((await chunksOf(entry!, fetch)).map((c) => c.length)).toEqual([MAX_VAL_RANGE]);
  });

  it('refuses a range answer that does not continue where it asked, and stops when the group vanished', async () => {
    const first = ldapEntry('CN=G', { 'member;range=0-1499': ['CN=a'] });
    const skipping: RangeFetcher = async () => ldapEntry('CN=G', { 'member;range=2000-*': ['CN=b'] });
    await expect(chunksOf(first, skipping)).rejects.toMatchObject({ kind: 'protocol', message: expect.stringContaining('1500-*') });
    const gone: RangeFetcher = async () => undefined;
    expect(await chunksOf(first, gone)).toEqual([['CN=a']]);
    const plainRest: RangeFetcher = async () => ldapEntry('CN=G', { member: ['CN=b', 'CN=c'] });
    expect(await chunksOf(first, plainRest)).toEqual([['CN=a'], ['CN=b', 'CN=c']]);
  });

  it('keeps the uSNChanged mark of the root DSE before the read, per domain controller', () => {
    const ad = new FakeActiveDirectory();
    ad.addUser('A');
    ad.addUser('B');
    const dse = parseRootDse(ad.rootDse());
    const mark = usnChangedCursor.startMark(dse, new Date());
    expect(mark).toBe('2');
    // an entry changed during the read (USN 5) does not move the mark past changes not yet seen
    const state = usnChangedCursor.next({ startMark: mark, maxSeen: '5', dse });
    expect(state).toEqual({ vendor: 'active_directory', attribute: 'uSNChanged', since: '2', inclusive: false, server: 'dc1.corp.example.com' });
    expect(usnChangedCursor.filter(state)).toBe('(uSNChanged>=3)');
    expect(usnChangedCursor.accepts(state, dse)).toBe(true);
    expect(usnChangedCursor.accepts({ ...state, server: 'dc2.corp.example.com' }, dse)).toBe(false);
    expect(usnChangedCursor.accepts({ ...state, vendor: 'openldap' }, dse)).toBe(false);
    expect(usnChangedCursor.observe('9', ldapEntry('CN=x', { uSNChanged: '12' }))).toBe('12');
    expect(usnChangedCursor.observe('12', ldapEntry('CN=x', { uSNChanged: '9' }))).toBe('12');
  });
});

describe('OpenLDAP strategy', () => {
  it('reads entryUUID as the id and members in one chunk without range steps', async () => {
    const e = ldapEntry('cn=g,ou=groups,dc=example,dc=org', {
      entryUUID: '1D4E4936-7A90-1041-825F-FF4AD8111795',
      member: ['uid=a,ou=people,dc=example,dc=org', 'uid=b,ou=people,dc=example,dc=org'],
      uniqueMember: ["uid=c,ou=people,dc=example,dc=org#'0101'B"],
    });
    expect(openLdapVendor.id(e)).toBe('1d4e4936-7a90-1041-825f-ff4ad8111795');
    const fetch: RangeFetcher = () => Promise.reject(new Error('OpenLDAP has no ranges'));
    expect(await chunksOf(e, fetch, openLdapVendor)).toEqual([
      ['uid=a,ou=people,dc=example,dc=org', 'uid=b,ou=people,dc=example,dc=org'],
      ['uid=c,ou=people,dc=example,dc=org'],
    ]);
    expect(openLdapVendor.idFilter('1d4e4936-7a90-1041-825f-ff4ad8111795')).toBe('(entryUUID=1d4e4936-7a90-1041-825f-ff4ad8111795)');
    expect(openLdapVendor.userStatus(ldapEntry('uid=a', { pwdAccountLockedTime: '000001010000Z' }))).toBe('suspended');
    expect(openLdapVendor.userStatus(ldapEntry('uid=a', {}))).toBe('active');
  });

  it('continues strictly after an old high-water mark, and from the read start less the skew after recent changes', () => {
    const dse = parseRootDse(undefined);
    const now = new Date('2026-03-01T12:00:00Z');
    const start = modifyTimestampCursor.startMark(dse, now)!;
    expect(start).toBe(toGeneralizedTime(new Date(now.getTime() - CLOCK_SKEW_MS)));
    const quiet = modifyTimestampCursor.next({ startMark: start, maxSeen: '20240101000000Z', dse });
    expect(quiet).toMatchObject({ since: '20240101000000Z', inclusive: false });
    expect(modifyTimestampCursor.filter(quiet)).toBe('(&(modifyTimestamp>=20240101000000Z)(!(modifyTimestamp=20240101000000Z)))');
    const busy = modifyTimestampCursor.next({ startMark: start, maxSeen: '20260301115900Z', dse });
    expect(busy).toMatchObject({ since: start, inclusive: true });
    expect(modifyTimestampCursor.filter(busy)).toBe(`(modifyTimestamp>=${start})`);
    // nothing read: the previous mark stays
    expect(modifyTimestampCursor.next({ previous: quiet, startMark: start, dse })).toBe(quiet);
    expect(modifyTimestampCursor.accepts(quiet, dse)).toBe(true);
    expect(modifyTimestampCursor.accepts({ ...quiet, since: 'yesterday' }, dse)).toBe(false);
    expect(modifyTimestampCursor.observe('20240101000000Z', ldapEntry('x', { modifyTimestamp: '20240101000001Z' }))).toBe('20240101000001Z');
  });

  it('parses generalized time with fractions, minutes only and offsets', () => {
    expect(generalizedTimeToIso('20240315101112Z')).toBe('2024-03-15T10:11:12.000Z');
    expect(generalizedTimeToIso('20240315101112.0Z')).toBe('2024-03-15T10:11:12.000Z');
    expect(generalizedTimeToIso('20240315101112.25Z')).toBe('2024-03-15T10:11:12.250Z');
    expect(generalizedTimeToIso('202403151011Z')).toBe('2024-03-15T10:11:00.000Z');
    expect(generalizedTimeToIso('20240315101112+0200')).toBe('2024-03-15T08:11:12.000Z');
    expect(generalizedTimeToIso('not a time')).toBeUndefined();
  });
});

describe('DNs', () => {
  it('compares DNs whatever their spacing, case and escaping', () => {
    expect(normalizeDn('UID=Ann , ou=People,DC=Example,dc=org')).toBe(normalizeDn('uid=ann,ou=people,dc=example,dc=org'));
    expect(normalizeDn('cn=Smith\\, John,ou=x')).toBe(normalizeDn('cn=smith\\2C john,ou=x'));
    expect(normalizeDn('cn=a+sn=b,ou=x')).toBe(normalizeDn('sn=B+cn=A,ou=x'));
    expect(normalizeDn('cn=Smith\\, John,ou=x')).not.toBe(normalizeDn('cn=Smith,cn=John,ou=x'));
    expect(isUnder(normalizeDn('uid=a,ou=People,dc=x'), normalizeDn('ou=people,DC=x'))).toBe(true);
    expect(isUnder(normalizeDn('uid=a,ou=otherpeople,dc=x'), normalizeDn('ou=people,dc=x'))).toBe(false);
    expect(outermostBases(['ou=a,dc=x', 'dc=x', 'OU=b, DC=y', 'ou=b,dc=y'])).toEqual(['dc=x', 'OU=b, DC=y']);
  });

  it('keeps at most `capacity` DNs, dropping the least recently used', () => {
    const lru = new LruCache<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('d', 4);
    expect(lru.size).toBe(3);
    expect(lru.has('b')).toBe(false);
    expect([lru.has('a'), lru.has('c'), lru.has('d')]).toEqual([true, true, true]);
  });
});

describe('subschema parsing', () => {
  const attributeTypes = [
    "( 2.5.4.41 NAME 'name' DESC 'RFC4519: common supertype of name attributes' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
    "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )",
    "( 2.16.840.1.113730.3.1.3 NAME 'employeeNumber' DESC 'RFC2798: numerically identifies an employee within an organization' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
    "( 2.5.4.35 NAME 'userPassword' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40{128} )",
    "( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )",
    // AD quotes syntaxes and names its own
    "( 1.2.840.113556.1.4.8 NAME 'userAccountControl' SYNTAX '1.3.6.1.4.1.1466.115.121.1.27' SINGLE-VALUE )",
    "( 1.2.840.113556.1.4.159 NAME 'accountExpires' SYNTAX '1.2.840.113556.1.4.906' SINGLE-VALUE )",
    "( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
    "( 2.5.18.2 NAME 'modifyTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
  ];
  const objectClasses = [
    "( 2.5.6.6 NAME 'person' DESC 'RFC2256: a person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber ) )",
    "( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP person STRUCTURAL MAY ( employeeNumber $ jpegPhoto ) )",
    "( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL MAY ( userAccountControl $ accountExpires $ userPrincipalName ) )",
  ];
  const schema = new DirectorySchema(attributeTypes, objectClasses);

  it('parses names, syntaxes with length bounds, flags and inherited syntaxes', () => {
    expect(parseAttributeType(attributeTypes[1]!)).toMatchObject({ oid: '2.5.4.3', names: ['cn', 'commonName'], sup: 'name', singleValue: false });
    expect(parseAttributeType(attributeTypes[8]!)).toMatchObject({ singleValue: true, noUserModification: true, usage: 'directoryOperation' });
    expect(schema.syntaxOf('commonName')).toBe('1.3.6.1.4.1.1466.115.121.1.15');
    expect(schema.describe('cn')).toMatchObject({ name: 'cn', type: 'array', singleValue: false });
    expect(schema.describe('employeeNumber')).toMatchObject({ type: 'string', singleValue: true });
    expect(schema.describe('userAccountControl')).toMatchObject({ type: 'integer', sourceType: 'INTEGER (1.3.6.1.4.1.1466.115.121.1.27)' });
    expect(schema.describe('accountExpires')).toMatchObject({ type: 'string', sourceType: expect.stringContaining('Large Integer') });
    expect(schema.describe('modifyTimestamp')).toMatchObject({ type: 'datetime' });
    expect(parseObjectClass(objectClasses[0]!)).toMatchObject({ names: ['person'], sup: ['top'], kind: 'STRUCTURAL', must: ['sn', 'cn'] });
  });

  it('lists the attributes of a class through its superclasses, without credentials, binaries or consumed ones', () => {
    expect(schema.classAttributes(['inetOrgPerson'])).toEqual({ must: ['sn', 'cn'], may: ['employeeNumber', 'jpegPhoto', 'userPassword', 'telephoneNumber'], unknownClasses: [] });
    const fields = schema.extraFields(['inetOrgPerson'], ['sn']);
    expect(fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['cn', 'array', false],
      ['employeeNumber', 'string', true],
      // userPassword (credential) and jpegPhoto (binary) are never offered; telephoneNumber has no definition here
    ]);
    expect(schema.classAttributes(['noSuchClass']).unknownClasses).toEqual(['noSuchClass']);
  });
});
