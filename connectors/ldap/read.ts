/**
 * Reads the normalized identity streams from the directory, page by page:
 *
 *   users        paged scan of each user base with the user filter; manager DNs of a page
 *                resolved in one batch (LRU first) to the manager's id
 *   groups       paged scan of each group base with the group filter
 *   memberships  paged scan of the groups with their member attributes: each group's members
 *                chunk by chunk (AD range retrieval), member DNs resolved to ids in batches;
 *                a member that is a group gives an edge with member_type 'group' (nested groups;
 *                cycles are just edges, nothing is traversed)
 *
 * Incremental (vendor cursor: modifyTimestamp / uSNChanged, state = high-water mark): users and
 * groups changed since the mark; memberships of the groups changed since the mark, each followed
 * by scope_complete {group_id} so members that left are deleted. Deleted entries are not seen by
 * an incremental read (a full read removes them). Targeted reads (ctx.hints) re-read just the
 * users / groups / groups' memberships named by id (`id`, or `group_id` for memberships) and
 * delete what no longer exists; a hint without keys re-reads its whole stream.
 *
 * Memory: one page of entries, one chunk of one group's members, and the bounded DN cache.
 */
import { membershipId } from '../sdk/identity.ts';
import { logMessage, record, stateMessage, streamStatus, throwIfAborted } from '../sdk/read-helpers.ts';
import type { ConfiguredCatalog, ConfiguredStream, ReadContext, ReadHint, ReadMessage } from '../sdk/types.ts';
import { allOf, outermostBases, wrapFilter } from './dn.ts';
import { first, type LdapEntry } from './entry.ts';
import { DnResolver } from './resolver.ts';
import type { LdapSession } from './session.ts';
import {
  defaultGroupTransformer,
  defaultUserTransformer,
  extraAttributes,
  groupAttributesToRead,
  GROUP_FIELDS,
  NO_EXTRAS,
  userAttributesToRead,
  USER_FIELDS,
  type ExtraAttributes,
  type GroupTransformer,
  type UserTransformer,
} from './transform.ts';
import { SOURCE, type CursorState, type RangeFetcher } from './vendors.ts';

export const LDAP_STREAMS = ['users', 'groups', 'memberships'] as const;
type LdapStream = (typeof LDAP_STREAMS)[number];

/** member DNs resolved per round trip of the resolver */
const MEMBER_BATCH = 500;
/** ids per targeted-read query */
const ID_BATCH = 50;

export interface LdapReadOptions {
  userTransformer?: UserTransformer;
  groupTransformer?: GroupTransformer;
}

type Kind = 'users' | 'groups';

export class LdapReader {
  private readonly resolver: DnResolver;
  private readonly userTransformer: UserTransformer;
  private readonly groupTransformer: GroupTransformer;
  private readonly userBases: string[];
  private readonly groupBases: string[];

  constructor(
    private readonly session: LdapSession,
    private readonly ctx: ReadContext,
    opts: LdapReadOptions = {},
  ) {
    const { config } = session;
    this.userBases = outermostBases(config.userBaseDns);
    this.groupBases = outermostBases(config.groupBaseDns);
    this.resolver = new DnResolver({
      vendor: session.vendor,
      client: () => session.lookup(),
      userBases: this.userBases,
      groupBases: this.groupBases,
      userFilter: session.userFilter,
      groupFilter: session.groupFilter,
      cacheSize: config.dnCacheSize,
    });
    this.userTransformer = opts.userTransformer ?? defaultUserTransformer;
    this.groupTransformer = opts.groupTransformer ?? defaultGroupTransformer;
  }

  get resolverStats() {
    return { ...this.resolver.stats, cached: this.resolver.cached };
  }

  private get vendor() {
    return this.session.vendor;
  }

  private get pageSize(): number {
    return this.session.config.pageSize;
  }

  async *read(catalog: ConfiguredCatalog): AsyncGenerator<ReadMessage> {
    const streams = new Map(catalog.streams.map((s) => [s.name, s]));
    for (const name of streams.keys()) {
      if (!(LDAP_STREAMS as readonly string[]).includes(name)) yield logMessage('warn', `stream ${name} is not one the LDAP connector reads; skipped`);
    }
    if (this.ctx.hints) {
      yield* this.targeted(streams, this.ctx.hints);
      return;
    }
    for (const name of LDAP_STREAMS) {
      const stream = streams.get(name);
      if (!stream) continue;
      if (name === 'memberships') yield* this.memberships(stream);
      else yield* this.entries(name, stream);
    }
  }

  // ------------------------------------------------------------------------------------------
  // users and groups

  private async *extras(kind: Kind, stream: ConfiguredStream): AsyncGenerator<ReadMessage, ExtraAttributes> {
    const configured = kind === 'users' ? this.session.config.userAttributes : this.session.config.groupAttributes;
    const { names, topLevel } = extraAttributes(configured, stream.fields, kind === 'users' ? USER_FIELDS : GROUP_FIELDS);
    if (names.length === 0) return NO_EXTRAS;
    try {
      return { names, topLevel, schema: await this.session.schema() };
    } catch (err) {
      yield logMessage('warn', `the subschema could not be read (${(err as Error).message}); extra ${kind} attributes keep the shape each entry has`);
      return { names, topLevel };
    }
  }

  private previousState(stream: string, configured: ConfiguredStream): { previous?: CursorState; ignored: boolean } {
    if (configured.syncMode !== 'incremental') return { ignored: false };
    const raw = this.ctx.state[stream];
    if (raw === undefined) return { ignored: false };
    return this.vendor.cursor.accepts(raw, this.session.dse) ? { previous: raw, ignored: false } : { ignored: true };
  }

  private async *entries(kind: Kind, stream: ConfiguredStream): AsyncGenerator<ReadMessage> {
    const { vendor } = this;
    const extras = yield* this.extras(kind, stream);
    const attributes = kind === 'users' ? userAttributesToRead(vendor, extras) : groupAttributesToRead(vendor, extras);
    const { previous, ignored } = this.previousState(kind, stream);
    if (ignored) yield logMessage('info', `${kind}: the saved state belongs to another server or directory type; reading everything`);
    const startMark = vendor.cursor.startMark(this.session.dse, new Date());
    const filter = allOf(wrapFilter(kind === 'users' ? this.session.userFilter : this.session.groupFilter), previous ? vendor.cursor.filter(previous) : undefined);
    yield streamStatus(kind, 'started');
    let maxSeen: string | undefined;
    let emitted = 0;
    let withoutId = 0;
    for (const base of kind === 'users' ? this.userBases : this.groupBases) {
      for await (const page of this.session.client.pages({ base, filter, attributes, binary: vendor.binaryAttributes, pageSize: this.pageSize }, `read ${kind} under`)) {
        throwIfAborted(this.ctx.signal, SOURCE);
        for (const e of page) maxSeen = vendor.cursor.observe(maxSeen, e);
        for await (const data of this.transformPage(kind, page, extras)) {
          throwIfAborted(this.ctx.signal, SOURCE);
          if (data === undefined) withoutId++;
          else {
            emitted++;
            yield record(kind, data);
          }
        }
      }
    }
    yield stateMessage(kind, { ...vendor.cursor.next({ previous, startMark, maxSeen, dse: this.session.dse }) });
    if (withoutId > 0) yield logMessage('warn', `${kind}: ${withoutId} entries without ${vendor.idAttribute} skipped`);
    yield logMessage('info', `${kind}: ${emitted} ${previous ? 'changed ' : ''}records read`);
    yield streamStatus(kind, 'complete');
  }

  /** Records of one page (undefined for an entry without id); users get their manager resolved in one batch. */
  private async *transformPage(kind: Kind, page: LdapEntry[], extras: ExtraAttributes): AsyncGenerator<Record<string, unknown> | undefined> {
    const { vendor } = this;
    const type = kind === 'users' ? 'user' : 'group';
    for (const e of page) {
      const id = vendor.id(e);
      if (id !== undefined) this.resolver.remember(e.dn, { id, type });
    }
    if (kind === 'groups') {
      for (const e of page) yield this.groupTransformer(e, { vendor, extras });
      return;
    }
    const managerDns = [...new Set(page.map((e) => first(e, vendor.fields.manager)).filter((dn): dn is string => dn !== undefined))];
    const managers = managerDns.length > 0 ? await this.resolver.resolve(managerDns, 'user') : new Map();
    for (const e of page) {
      const managerDn = first(e, vendor.fields.manager);
      const managerId = managerDn === undefined ? undefined : (managers.get(managerDn)?.id ?? undefined);
      yield this.userTransformer(e, { vendor, extras, managerId });
    }
  }

  // ------------------------------------------------------------------------------------------
  // memberships

  private get rangeFetcher(): RangeFetcher {
    return async (dn, attribute) => (await this.session.lookup()).read(dn, [attribute], this.vendor.binaryAttributes);
  }

  private memberAttributesToRead(): string[] {
    return [this.vendor.idAttribute, this.vendor.cursor.attribute, ...this.vendor.memberAttributes];
  }

  private async *memberships(stream: ConfiguredStream): AsyncGenerator<ReadMessage> {
    const { vendor } = this;
    const incremental = stream.syncMode === 'incremental';
    const { previous, ignored } = this.previousState('memberships', stream);
    if (ignored) yield logMessage('info', 'memberships: the saved state belongs to another server or directory type; reading every group');
    const startMark = vendor.cursor.startMark(this.session.dse, new Date());
    const filter = allOf(wrapFilter(this.session.groupFilter), previous ? vendor.cursor.filter(previous) : undefined);
    yield streamStatus('memberships', 'started');
    let maxSeen: string | undefined;
    const counts = { groups: 0, edges: 0, skipped: 0 };
    for (const base of this.groupBases) {
      const pages = this.session.client.pages({ base, filter, attributes: this.memberAttributesToRead(), binary: vendor.binaryAttributes, pageSize: this.pageSize }, 'read group members under');
      for await (const page of pages) {
        throwIfAborted(this.ctx.signal, SOURCE);
        for (const e of page) {
          const id = vendor.id(e);
          if (id !== undefined) this.resolver.remember(e.dn, { id, type: 'group' });
        }
        for (const e of page) {
          maxSeen = vendor.cursor.observe(maxSeen, e);
          const groupId = vendor.id(e);
          if (groupId === undefined) continue;
          counts.groups++;
          yield* this.groupEdges(e, groupId, counts);
          if (incremental) yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: groupId } };
        }
      }
    }
    yield stateMessage('memberships', { ...vendor.cursor.next({ previous, startMark, maxSeen, dse: this.session.dse }) });
    const skipped = counts.skipped > 0 ? `; ${counts.skipped} member DNs are not users or groups in scope (other bases, filtered out, or dangling) and were skipped` : '';
    yield logMessage('info', `memberships: ${counts.edges} edges of ${counts.groups} ${previous ? 'changed ' : ''}groups${skipped}`);
    yield streamStatus('memberships', 'complete');
  }

  /** The direct membership edges of one group, its members resolved chunk by chunk. */
  private async *groupEdges(group: LdapEntry, groupId: string, counts: { edges: number; skipped: number }): AsyncGenerator<ReadMessage> {
    const seen = new Set<string>();
    for await (const chunk of this.vendor.members(group, this.rangeFetcher)) {
      for (let i = 0; i < chunk.length; i += MEMBER_BATCH) {
        throwIfAborted(this.ctx.signal, SOURCE);
        const batch = chunk.slice(i, i + MEMBER_BATCH);
        const targets = await this.resolver.resolve(batch);
        for (const dn of batch) {
          const target = targets.get(dn);
          if (!target) {
            counts.skipped++;
            continue;
          }
          const id = membershipId(groupId, target.type, target.id);
          if (seen.has(id)) continue;
          seen.add(id);
          counts.edges++;
          yield record('memberships', { id, group_id: groupId, member_id: target.id, member_type: target.type });
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // targeted reads

  private async *targeted(streams: Map<string, ConfiguredStream>, hints: ReadHint[]): AsyncGenerator<ReadMessage> {
    for (const hint of hints) {
      const stream = streams.get(hint.stream);
      if (!stream) continue;
      const name = hint.stream as LdapStream;
      if (hint.keys.length === 0 && (LDAP_STREAMS as readonly string[]).includes(name)) {
        // no keys: the whole stream, and in full mode whatever was not read is gone
        yield* name === 'memberships' ? this.memberships(stream) : this.entries(name as Kind, stream);
        if (stream.syncMode === 'full') yield { type: 'scope_complete', stream: name, scope: {} };
      } else if (name === 'users' || name === 'groups') {
        const ids = hint.keys.map((k) => k.id).filter((v): v is string => typeof v === 'string');
        yield* this.targetedEntries(name, stream, ids);
      } else if (name === 'memberships') {
        const ids = hint.keys
          .map((k) => (typeof k.group_id === 'string' ? k.group_id : typeof k.id === 'string' ? k.id.split(':')[0] : undefined))
          .filter((v): v is string => !!v);
        yield* this.targetedMemberships(ids);
      }
    }
  }

  /** Entries of one kind with these ids, under the kind's bases and filter, `ID_BATCH` ids per query. */
  private async *entriesById(kind: Kind, ids: string[], attributes: string[]): AsyncGenerator<LdapEntry[]> {
    const { vendor } = this;
    const filterOf = kind === 'users' ? this.session.userFilter : this.session.groupFilter;
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      const terms = ids.slice(i, i + ID_BATCH).map((id) => vendor.idFilter(id)).filter((t): t is string => t !== undefined);
      if (terms.length === 0) continue;
      const filter = allOf(wrapFilter(filterOf), terms.length === 1 ? terms[0] : `(|${terms.join('')})`);
      for (const base of kind === 'users' ? this.userBases : this.groupBases) {
        yield await this.session.client.search({ base, filter, attributes, binary: vendor.binaryAttributes }, `re-read ${kind} under`);
      }
    }
  }

  private async *targetedEntries(kind: Kind, stream: ConfiguredStream, ids: string[]): AsyncGenerator<ReadMessage> {
    const { vendor } = this;
    const extras = yield* this.extras(kind, stream);
    const attributes = kind === 'users' ? userAttributesToRead(vendor, extras) : groupAttributesToRead(vendor, extras);
    const wanted = new Set(ids.map((id) => id.toLowerCase()));
    yield streamStatus(kind, 'started');
    for await (const found of this.entriesById(kind, [...wanted], attributes)) {
      for await (const data of this.transformPage(kind, found, extras)) {
        if (data === undefined) continue;
        wanted.delete(String(data.id).toLowerCase());
        yield record(kind, data);
      }
    }
    // what was asked for and is not there (deleted, moved out of scope) is deleted
    for (const id of wanted) yield { type: 'delete', stream: kind, key: { id } };
    yield streamStatus(kind, 'complete');
  }

  private async *targetedMemberships(groupIds: string[]): AsyncGenerator<ReadMessage> {
    const wanted = new Set(groupIds.map((id) => id.toLowerCase()));
    const counts = { edges: 0, skipped: 0 };
    yield streamStatus('memberships', 'started');
    for await (const found of this.entriesById('groups', [...wanted], this.memberAttributesToRead())) {
      for (const e of found) {
        const groupId = this.vendor.id(e);
        if (groupId === undefined) continue;
        wanted.delete(groupId);
        this.resolver.remember(e.dn, { id: groupId, type: 'group' });
        yield* this.groupEdges(e, groupId, counts);
        yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: groupId } };
      }
    }
    // a group that is gone has no members any more
    for (const id of wanted) yield { type: 'scope_complete', stream: 'memberships', scope: { group_id: id } };
    yield streamStatus('memberships', 'complete');
  }
}

export function readLdap(session: LdapSession, catalog: ConfiguredCatalog, ctx: ReadContext, opts: LdapReadOptions = {}): AsyncGenerator<ReadMessage> {
  return new LdapReader(session, ctx, opts).read(catalog);
}

