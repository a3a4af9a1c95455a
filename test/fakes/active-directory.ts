/**
 * A fake Active Directory at the connector's client seam, answering in the shapes a domain
 * controller answers through ldapts (as recorded from AD and documented in MS-ADTS):
 *
 *   - objectGUID as 16 raw bytes (first three groups little-endian), objectSid binary
 *   - a multi-valued attribute over MaxValRange (1,500) values comes back as
 *     `member;range=0-1499`, and `member;range=<low>-*` is answered with
 *     `member;range=<low>-<low+1499>` until the last range `member;range=<low>-*`; like ldapts,
 *     every requested description the server did not return is added as an empty list
 *   - userAccountControl, groupType, uSNChanged, whenChanged (`YYYYMMDDHHMMSS.0Z`) as text
 *   - the root DSE with forestFunctionality, rootDomainNamingContext, supportedCapabilities
 *     1.2.840.113556.1.4.800 and highestCommittedUSN
 *   - lookups `(|(distinguishedName=…)…)` and `(objectGUID=\xx…)`, and `(uSNChanged>=n)`
 *
 * It records every call so tests can see the range steps and the batched lookups.
 */
import { randomBytes } from 'node:crypto';
import type { Entry } from 'ldapts';
import type { LdapClient, SearchRequest } from '../../connectors/ldap/client.ts';
import { normalizeDn } from '../../connectors/ldap/dn.ts';
import { toLdapEntry, type LdapEntry } from '../../connectors/ldap/entry.ts';
import type { LdapSession } from '../../connectors/ldap/session.ts';
import type { LdapConfig } from '../../connectors/ldap/spec.ts';
import { activeDirectoryVendor, parseRootDse } from '../../connectors/ldap/vendors.ts';

export const AD_DOMAIN = 'DC=corp,DC=example,DC=com';
export const MAX_VAL_RANGE = 1500;

export interface FakeAdObject {
  dn: string;
  kind: 'user' | 'group';
  guid: Buffer;
  attrs: Record<string, string | string[]>;
  usn: number;
}

export interface FakeAdCall {
  op: 'pages' | 'search' | 'read';
  base: string;
  filter?: string;
  attributes?: string[];
}

/** Unescapes RFC 4515 `\xx` escapes into bytes. */
function filterBytes(escaped: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '\\') {
      bytes.push(parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(escaped[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}

export class FakeActiveDirectory {
  readonly objects: FakeAdObject[] = [];
  private readonly byDn = new Map<string, FakeAdObject>();
  private readonly byGuid = new Map<string, FakeAdObject>();
  readonly calls: FakeAdCall[] = [];
  highestCommittedUSN = 0;
  readonly dnsHostName = 'dc1.corp.example.com';

  addUser(cn: string, attrs: Record<string, string | string[]> = {}): FakeAdObject {
    return this.add({ dn: `CN=${cn},OU=Staff,${AD_DOMAIN}`, kind: 'user', attrs: { cn, sAMAccountName: cn.toLowerCase().replace(/\s+/g, '.'), userAccountControl: '512', ...attrs } });
  }

  addGroup(cn: string, members: string[], attrs: Record<string, string | string[]> = {}): FakeAdObject {
    return this.add({ dn: `CN=${cn},OU=Groups,${AD_DOMAIN}`, kind: 'group', attrs: { cn, sAMAccountName: cn, groupType: '-2147483646', member: members, ...attrs } });
  }

  private add(o: Omit<FakeAdObject, 'guid' | 'usn'>): FakeAdObject {
    const usn = ++this.highestCommittedUSN;
    const obj: FakeAdObject = { ...o, guid: randomBytes(16), usn };
    this.objects.push(obj);
    this.byDn.set(normalizeDn(obj.dn), obj);
    this.byGuid.set(obj.guid.toString('hex'), obj);
    return obj;
  }

  /** a change on the DC: the object gets the next USN */
  touch(obj: FakeAdObject, attrs: Record<string, string | string[]>): void {
    Object.assign(obj.attrs, attrs);
    obj.usn = ++this.highestCommittedUSN;
  }

  private find(dn: string): FakeAdObject | undefined {
    return this.byDn.get(normalizeDn(dn));
  }

  /** what ldapts hands over for this object and these requested attributes */
  private answer(o: FakeAdObject, requested: string[]): LdapEntry {
    const all: Record<string, string | string[] | Buffer> = {
      ...o.attrs,
      objectGUID: o.guid,
      objectSid: Buffer.from([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0]),
      uSNChanged: String(o.usn),
      whenChanged: '20240315101112.0Z',
      distinguishedName: o.dn,
      objectClass: o.kind === 'user' ? ['top', 'person', 'organizationalPerson', 'user'] : ['top', 'group'],
    };
    const entry: Entry = { dn: o.dn };
    for (const req of requested) {
      const [name, option] = req.split(';');
      const key = Object.keys(all).find((k) => k.toLowerCase() === name!.toLowerCase());
      const value = key === undefined ? undefined : all[key];
      if (value === undefined) continue;
      const list = Array.isArray(value) ? value : [value];
      const range = option ? /^range=(\d+)-\*$/i.exec(option) : null;
      if (Array.isArray(value) && (range || list.length > MAX_VAL_RANGE)) {
        const low = range ? Number(range[1]) : 0;
        const rest = (list as string[]).slice(low);
        const last = rest.length <= MAX_VAL_RANGE;
        entry[`${key};range=${low}-${last ? '*' : low + MAX_VAL_RANGE - 1}`] = rest.slice(0, MAX_VAL_RANGE);
      } else {
        entry[key!] = value as string;
      }
    }
    // ldapts fills in requested descriptions the server did not return
    for (const req of requested) if (!Object.keys(entry).some((k) => k.toLowerCase() === req.toLowerCase())) entry[req] = [];
    return toLdapEntry(entry);
  }

  /** the objects a filter the connector builds selects (kind, uSNChanged, DN and GUID lookups) */
  private select(filter: string): FakeAdObject[] {
    const kind = filter.includes('(objectClass=group)') ? 'group' : 'user';
    const dns = [...filter.matchAll(/\(distinguishedName=((?:[^()\\]|\\[0-9a-f]{2})*)\)/gi)].map((m) => filterBytes(m[1]!).toString('utf8'));
    const guids = [...filter.matchAll(/\(objectGUID=((?:\\[0-9a-f]{2})+)\)/gi)].map((m) => filterBytes(m[1]!).toString('hex'));
    let out =
      dns.length > 0
        ? dns.map((dn) => this.find(dn)).filter((o): o is FakeAdObject => o !== undefined)
        : guids.length > 0
          ? guids.map((g) => this.byGuid.get(g)).filter((o): o is FakeAdObject => o !== undefined)
          : this.objects;
    out = out.filter((o) => o.kind === kind);
    const usn = /\(uSNChanged>=(\d+)\)/.exec(filter);
    if (usn) out = out.filter((o) => o.usn >= Number(usn[1]));
    return out;
  }

  client(): LdapClient {
    const fake = {
      endpoint: { url: 'ldaps://dc1.corp.example.com:636', secure: true, host: 'dc1.corp.example.com', port: 636 },
      tls: 'ldaps',
      target: 'dc1.corp.example.com:636',
      pages: async function* (this: FakeActiveDirectory, req: SearchRequest & { pageSize: number }) {
        this.calls.push({ op: 'pages', base: req.base, filter: req.filter, attributes: req.attributes });
        const selected = this.select(req.filter ?? '');
        for (let i = 0; i < selected.length; i += req.pageSize) {
          yield selected.slice(i, i + req.pageSize).map((o) => this.answer(o, req.attributes ?? []));
        }
      }.bind(this),
      search: async (req: SearchRequest) => {
        this.calls.push({ op: 'search', base: req.base, filter: req.filter, attributes: req.attributes });
        return this.select(req.filter ?? '').map((o) => this.answer(o, req.attributes ?? []));
      },
      read: async (dn: string, attributes: string[]) => {
        this.calls.push({ op: 'read', base: dn, attributes });
        const o = this.find(dn);
        return o ? this.answer(o, attributes) : undefined;
      },
      close: async () => undefined,
    };
    return fake as unknown as LdapClient;
  }

  rootDse(): LdapEntry {
    return toLdapEntry({
      dn: '',
      forestFunctionality: '7',
      domainFunctionality: '7',
      rootDomainNamingContext: AD_DOMAIN,
      defaultNamingContext: AD_DOMAIN,
      namingContexts: [AD_DOMAIN, `CN=Configuration,${AD_DOMAIN}`, `CN=Schema,CN=Configuration,${AD_DOMAIN}`],
      supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791'],
      supportedControl: ['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.801'],
      subschemaSubentry: `CN=Aggregate,CN=Schema,CN=Configuration,${AD_DOMAIN}`,
      highestCommittedUSN: String(this.highestCommittedUSN),
      dnsHostName: this.dnsHostName,
    });
  }

  /** an LdapSession over this fake, as LdapSession.open would build it for an AD config */
  session(config: Partial<LdapConfig> = {}): LdapSession {
    const full: LdapConfig = {
      urls: ['ldaps://dc1.corp.example.com'],
      vendor: 'auto',
      bindPassword: 'x',
      startTls: false,
      tlsRejectUnauthorized: true,
      userBaseDns: [AD_DOMAIN],
      userObjectClasses: [],
      userAttributes: [],
      groupBaseDns: [AD_DOMAIN],
      groupObjectClasses: [],
      groupAttributes: [],
      pageSize: 1000,
      dnCacheSize: 20_000,
      connectTimeoutMs: 1000,
      operationTimeoutMs: 1000,
      ...config,
    };
    const client = this.client();
    const dse = parseRootDse(this.rootDse());
    const session = {
      config: full,
      client,
      dse,
      vendor: activeDirectoryVendor,
      userFilter: full.userFilter ?? activeDirectoryVendor.defaultUserFilter,
      groupFilter: full.groupFilter ?? activeDirectoryVendor.defaultGroupFilter,
      userObjectClasses: activeDirectoryVendor.defaultUserObjectClasses,
      groupObjectClasses: activeDirectoryVendor.defaultGroupObjectClasses,
      lookup: async () => client,
      schema: async () => {
        throw new Error('the fake has no subschema');
      },
      close: async () => undefined,
    };
    return session as unknown as LdapSession;
  }
}
