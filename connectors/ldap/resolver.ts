/**
 * Member and manager DNs → stable ids, without holding the directory in memory: a bounded LRU
 * of DN → {id, user | group} (negative answers too) that the scans fill as entries go by, and
 * for misses batched lookups — `(&<group filter>(|(entryDN=…)(entryDN=…)…))` under each group
 * base that could hold them, then the same with the user filter (AD: distinguishedName). A DN
 * outside the configured bases or filters resolves to null: it is not a user or group we emit,
 * so no edge may point at it.
 */
import { allOf, anyOf, isUnder, LruCache, normalizeDn, wrapFilter } from './dn.ts';
import type { LdapClient } from './client.ts';
import type { LdapVendor } from './vendors.ts';

export type DnTarget = { id: string; type: 'user' | 'group' } | null;

export interface DnResolverOptions {
  vendor: LdapVendor;
  client: () => Promise<LdapClient>;
  userBases: string[];
  groupBases: string[];
  userFilter: string;
  groupFilter: string;
  cacheSize: number;
  /** DNs per lookup query */
  batchSize?: number;
}

export interface ResolverStats {
  lookups: number;
  looked: number;
  hits: number;
  misses: number;
}

export class DnResolver {
  private readonly cache: LruCache<string, DnTarget>;
  private readonly userBases: Array<{ raw: string; norm: string }>;
  private readonly groupBases: Array<{ raw: string; norm: string }>;
  private readonly batchSize: number;
  lookups = 0;
  looked = 0;

  constructor(private readonly opts: DnResolverOptions) {
    this.cache = new LruCache(opts.cacheSize);
    this.userBases = opts.userBases.map((raw) => ({ raw, norm: normalizeDn(raw) }));
    this.groupBases = opts.groupBases.map((raw) => ({ raw, norm: normalizeDn(raw) }));
    this.batchSize = opts.batchSize ?? 100;
  }

  get stats(): ResolverStats {
    return { lookups: this.lookups, looked: this.looked, hits: this.cache.hits, misses: this.cache.misses };
  }

  get cached(): number {
    return this.cache.size;
  }

  remember(dn: string, target: DnTarget): void {
    this.cache.set(normalizeDn(dn), target);
  }

  /**
   * Resolves DNs (at most `batchSize` queries' worth at a time); the answer maps each DN as given
   * to its target. `only` restricts the answer to one kind (a manager must be a user).
   */
  async resolve(dns: string[], only?: 'user' | 'group'): Promise<Map<string, DnTarget>> {
    const out = new Map<string, DnTarget>();
    const missing = new Map<string, string[]>(); // normalized → DNs as given
    for (const dn of dns) {
      const norm = normalizeDn(dn);
      if (this.cache.has(norm)) {
        out.set(dn, this.cache.get(norm) ?? null);
      } else {
        this.cache.get(norm); // counts the miss
        const list = missing.get(norm);
        if (list) list.push(dn);
        else missing.set(norm, [dn]);
      }
    }
    const pending = [...missing.keys()];
    for (let i = 0; i < pending.length; i += this.batchSize) {
      const batch = pending.slice(i, i + this.batchSize);
      const found = await this.lookup(batch, missing);
      for (const norm of batch) {
        const target = found.get(norm) ?? null;
        this.cache.set(norm, target);
        for (const dn of missing.get(norm)!) out.set(dn, target);
      }
    }
    if (only) for (const [dn, t] of out) if (t && t.type !== only) out.set(dn, null);
    return out;
  }

  private async lookup(batch: string[], given: Map<string, string[]>): Promise<Map<string, DnTarget>> {
    const found = new Map<string, DnTarget>();
    const { vendor } = this.opts;
    const passes: Array<{ type: 'user' | 'group'; bases: Array<{ raw: string; norm: string }>; filter: string }> = [
      { type: 'group', bases: this.groupBases, filter: this.opts.groupFilter },
      { type: 'user', bases: this.userBases, filter: this.opts.userFilter },
    ];
    for (const pass of passes) {
      for (const base of pass.bases) {
        const candidates = batch.filter((norm) => !found.has(norm) && isUnder(norm, base.norm));
        if (candidates.length === 0) continue;
        const client = await this.opts.client();
        const dnValues = candidates.map((norm) => given.get(norm)![0]!);
        this.lookups++;
        this.looked += candidates.length;
        const entries = await client.search(
          {
            base: base.raw,
            filter: allOf(wrapFilter(pass.filter), anyOf(vendor.dnAttribute, dnValues)),
            attributes: [vendor.idAttribute],
            binary: vendor.binaryAttributes,
          },
          'resolve member DNs under',
        );
        for (const e of entries) {
          const id = vendor.id(e);
          if (id !== undefined) found.set(normalizeDn(e.dn), { id, type: pass.type });
        }
      }
    }
    return found;
  }
}
