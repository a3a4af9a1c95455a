/**
 * Decides whether a host an admin typed may be contacted (SSRF protection).
 *
 * Every address the host resolves to is checked; one refused address refuses the host.
 *   1. always refused, whatever `allow` says: link-local (169.254.0.0/16, fe80::/10), cloud metadata
 *      (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200, 192.0.0.192 and the
 *      metadata.google.internal / metadata.goog host names), unspecified, multicast and broadcast
 *      addresses — also when embedded in IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 addresses
 *   2. allowed when the host name or the address matches an `allow` entry
 *   3. refused when the host name or the address matches a `deny` entry
 *   4. refused when private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7) and
 *      `allowPrivate` is false (it defaults to true: most databases live on private networks)
 *   5. loopback (127/8, ::1) is allowed unless `allowLoopback` is false or a deny entry matches
 * `allow` / `deny` entries are CIDRs, IP addresses, host names or `*.suffix` wildcards.
 *
 * The guard checks what the host resolves to now; the driver resolves again when it connects.
 */
import { lookup } from 'node:dns/promises';
import { SourceError } from './errors.ts';
import { cidrContains, cidrs, embeddedAddresses, formatIp, parseCidr, parseIp, type Cidr, type IpAddress } from './ip-address.ts';
import type { NetworkGuard } from './types.ts';

export interface NetworkGuardOptions {
  allowPrivate?: boolean;
  allowLoopback?: boolean;
  allow?: string[];
  deny?: string[];
  /** resolves a host name to its addresses; defaults to dns.lookup (all, IPv4 and IPv6) */
  resolve?: (host: string) => Promise<string[]>;
}

const SOURCE = 'network';

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);
const METADATA = cidrs(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']);
const LINK_LOCAL = cidrs(['169.254.0.0/16', 'fe80::/10']);
const NEVER_TARGETS = cidrs(['0.0.0.0/8', '::/128', '224.0.0.0/4', '255.255.255.255/32', 'ff00::/8']);
const PRIVATE = cidrs(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']);
const LOOPBACK = cidrs(['127.0.0.0/8', '::1/128']);

interface Rules {
  cidrs: Cidr[];
  hosts: string[];
}

function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function parseRules(entries: string[] | undefined, name: string): Rules {
  const rules: Rules = { cidrs: [], hosts: [] };
  for (const raw of entries ?? []) {
    const entry = raw.trim();
    const cidr = parseCidr(entry);
    if (cidr) rules.cidrs.push(cidr);
    else if (/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(entry)) rules.hosts.push(normaliseHost(entry));
    else throw new SourceError(SOURCE, `network ${name} entry "${entry}" is neither a CIDR nor a host name`, { kind: 'config' });
  }
  return rules;
}

function hostMatches(hosts: string[], host: string): boolean {
  return hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h));
}

function inAny(list: Cidr[], ip: IpAddress): boolean {
  return list.some((c) => cidrContains(c, ip));
}

/** The address and any IPv4 address it embeds. */
function facets(ip: IpAddress): IpAddress[] {
  return [ip, ...embeddedAddresses(ip)];
}

async function defaultResolve(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

export function createNetworkGuard(opts: NetworkGuardOptions = {}): NetworkGuard {
  const allow = parseRules(opts.allow, 'allow');
  const deny = parseRules(opts.deny, 'deny');
  const allowPrivate = opts.allowPrivate ?? true;
  const allowLoopback = opts.allowLoopback ?? true;
  const resolve = opts.resolve ?? defaultResolve;

  const blocked = (host: string, why: string): SourceError =>
    new SourceError(SOURCE, `connections to ${host} are not allowed: ${why}`, { kind: 'blocked', detail: { host } });

  function refusal(host: string, hostAllowed: boolean, hostDenied: boolean, ip: IpAddress): SourceError | undefined {
    const all = facets(ip);
    const shown = formatIp(ip);
    if (all.some((a) => inAny(METADATA, a))) return blocked(host, `${shown} is a cloud metadata address`);
    if (all.some((a) => inAny(LINK_LOCAL, a))) return blocked(host, `${shown} is link-local`);
    if (all.some((a) => inAny(NEVER_TARGETS, a))) return blocked(host, `${shown} is not a unicast host address`);
    if (hostAllowed || all.some((a) => inAny(allow.cidrs, a))) return undefined;
    if (hostDenied || all.some((a) => inAny(deny.cidrs, a))) return blocked(host, `${shown} is denied by policy`);
    if (!allowPrivate && all.some((a) => inAny(PRIVATE, a))) return blocked(host, `${shown} is a private address`);
    if (!allowLoopback && all.some((a) => inAny(LOOPBACK, a))) return blocked(host, `${shown} is a loopback address`);
    return undefined;
  }

  async function addressesOf(host: string): Promise<IpAddress[]> {
    const literal = parseIp(host);
    if (literal) return [literal];
    let found: string[];
    try {
      found = await resolve(host);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'lookup failed';
      throw new SourceError(SOURCE, `host ${host} does not resolve (${code})`, { kind: 'dns', cause: err, detail: { host } });
    }
    const parsed = found.map((a) => parseIp(a));
    if (parsed.length === 0 || parsed.some((p) => p === undefined)) {
      throw new SourceError(SOURCE, `host ${host} resolved to no usable address`, { kind: 'dns', detail: { host } });
    }
    return parsed as IpAddress[];
  }

  return {
    async assertAllowed(rawHost: string): Promise<void> {
      const host = normaliseHost(rawHost);
      if (host.length === 0) throw new SourceError(SOURCE, 'no host given', { kind: 'config' });
      if (METADATA_HOSTS.has(host)) throw blocked(host, 'it is a cloud metadata service');
      const hostAllowed = hostMatches(allow.hosts, host);
      const hostDenied = hostMatches(deny.hosts, host);
      for (const ip of await addressesOf(host)) {
        const refused = refusal(host, hostAllowed, hostDenied, ip);
        if (refused) throw refused;
      }
    },
  };
}
