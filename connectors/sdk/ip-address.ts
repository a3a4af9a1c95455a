/**
 * A small, exact IP / CIDR matcher (IPv4 and IPv6 as bigints), used by the network guard.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are normalised to IPv4 so one rule covers both.
 */
import { isIP } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

const V4_BITS = 32;
const V6_BITS = 128;

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(text: string): bigint {
  let head = text;
  let tailWords: bigint[] = [];
  const lastColon = head.lastIndexOf(':');
  const tail = head.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    tailWords = [v4 >> 16n, v4 & 0xffffn];
    head = head.slice(0, lastColon + 1) + '0:0'; // placeholder words, replaced below
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const toWords = (s: string | undefined): bigint[] => (s ? s.split(':').map((w) => BigInt(parseInt(w, 16))) : []);
  const l = toWords(left);
  const r = toWords(right);
  const words = right === undefined ? l : [...l, ...new Array<bigint>(8 - l.length - r.length).fill(0n), ...r];
  if (tailWords.length === 2) words.splice(6, 2, ...tailWords);
  return words.reduce((acc, w) => (acc << 16n) | w, 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;
/** 64:ff9b::/96 */
const NAT64_PREFIX = 0x64ff9bn << 96n;

/** Parses an IP literal (brackets and an IPv6 zone id are accepted); undefined when not an IP. */
export function parseIp(input: string): IpAddress | undefined {
  const text = input.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(text);
  if (family === 4) return { family: 4, value: parseV4(text) };
  if (family !== 6) return undefined;
  const value = parseV6(text);
  if (value >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/**
 * Addresses an IPv6 address also stands for: IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
 * and 6to4 (2002:aabb:ccdd::/48) embed an IPv4 address a gateway would forward to.
 */
export function embeddedAddresses(ip: IpAddress): IpAddress[] {
  if (ip.family === 4) return [];
  const v = ip.value;
  const low32 = v & 0xffffffffn;
  const out: IpAddress[] = [];
  if (v >> 32n === 0n && low32 > 1n) out.push({ family: 4, value: low32 });
  if (v >> 32n === NAT64_PREFIX >> 32n) out.push({ family: 4, value: low32 });
  if (v >> 112n === 0x2002n) out.push({ family: 4, value: (v >> 80n) & 0xffffffffn });
  return out;
}

/** Parses `10.0.0.0/8`, `fe80::/10` or a bare address (a /32 or /128). Undefined when invalid. */
export function parseCidr(input: string): Cidr | undefined {
  const [addr, prefixText, ...rest] = input.trim().split('/');
  if (addr === undefined || rest.length > 0) return undefined;
  const rawFamily = isIP(addr.replace(/^\[(.*)\]$/, '$1'));
  const ip = parseIp(addr);
  if (!ip) return undefined;
  let prefix = prefixText === undefined ? (ip.family === 4 ? V4_BITS : V6_BITS) : Number(prefixText);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  // a CIDR written over ::ffff:0:0/96 was normalised to IPv4: shift its prefix accordingly
  if (rawFamily === 6 && ip.family === 4 && prefixText !== undefined) prefix -= 96;
  const bits = ip.family === 4 ? V4_BITS : V6_BITS;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: ip.family, base: ip.value & mask, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const bits = cidr.family === 4 ? V4_BITS : V6_BITS;
  if (cidr.prefix === 0) return true;
  const shift = BigInt(bits - cidr.prefix);
  return ip.value >> shift === cidr.base >> shift;
}

export function cidrs(list: string[]): Cidr[] {
  return list.map((c) => {
    const parsed = parseCidr(c);
    if (!parsed) throw new Error(`invalid CIDR ${c}`);
    return parsed;
  });
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((ip.value >> s) & 0xffn).toString()).join('.');
  }
  const words: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) words.push(((ip.value >> s) & 0xffffn).toString(16));
  return words.join(':');
}
