/**
 * Builds a tenant's OPA data document from the record store (see docs/opa-data.md):
 *
 *   users.<key>                    merged identity users (identity-merge.ts)
 *   groups.<key>                   merged identity groups
 *   sources.<connection>.<stream>.<record key>   every connection's mapped streams
 *   meta                           revision, generated_at, per source type / synced_at / status / stale
 *
 * The result is serialized parts (bytes), one per place OPAL or OPA can fetch: the whole
 * document, users, groups, meta, each source and each source's streams. Records are read a page
 * at a time and serialized as they come, so only the identity streams are held as objects.
 */
import crypto from 'node:crypto';
import type { Executor } from '../db/database.ts';
import type { Sensitivity } from '../../connectors/sdk/types.ts';
import { IDENTITY_STREAMS, type IdentityStream } from '../../connectors/sdk/identity.ts';
import type { StreamMapping } from '../connections/mapping.ts';
import { documentsRepository, type SourceRow, type TenantOpalSettings } from './documents.repository.ts';
import { applyRule, carriedSensitivity, dropNulls, fieldRules, hashValue, maxSensitivity, publishRecord, type FieldRule } from './field-rules.ts';
import { mergeIdentities, type GroupKeyKind, type IdentitySourceIn, type MergeStats } from './identity-merge.ts';

export interface SourceLayout {
  /** key under sources.* (the connection name when it is a safe identifier) */
  key: string;
  connectionId: string;
  name: string;
  type: string;
  category: string;
  identity: boolean;
  /** target stream names in mapping order */
  streams: string[];
  /** source stream name (mapping `name`) by target stream name */
  sourceStreams: Record<string, string>;
  bytes: number;
  streamBytes: Record<string, number>;
  /** published as one entry per stream (the source passed the split size) */
  split: boolean;
}

export interface DocumentIndex {
  tenant: string;
  revision: number;
  generatedAt: string;
  /** the most sensitive field the document carries (chooses the cache TTL) */
  sensitivity: Sensitivity;
  bytes: number;
  sources: SourceLayout[];
  identity: MergeStats;
  /** part name → content hash (ETag) */
  etags: Record<string, string>;
}

export interface BuiltDocument {
  index: DocumentIndex;
  /** 'document' | 'users' | 'groups' | 'meta' | 'sources/<key>' | 'sources/<key>/<stream>' */
  parts: Map<string, Buffer>;
}

export interface BuildOptions {
  tenantId: string;
  revision: number;
  now: Date;
  /** a source without a successful sync for longer is stale */
  staleAfterSeconds: number;
  /** default merge key when the tenant has none: email | username | id | attribute:<name> */
  defaultUserKey: string;
  /** connector category by type (identity connections feed users and groups) */
  categoryOf: (type: string) => string | undefined;
  /** a source whose serialized size passes this is split into one entry per stream */
  splitBytes: number;
  pageSize?: number;
}

const SAFE_KEY = /^[A-Za-z0-9_-]{1,128}$/;

/** the document key of a connection: its name when that is a safe identifier */
export function sourceKeyOf(name: string, id: string): string {
  if (SAFE_KEY.test(name)) return name;
  const slug = name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 100);
  return `${slug || 'connection'}_${id.replace(/-/g, '').slice(0, 8)}`;
}

const USER_FIELDS = ['email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title', 'attributes'];
const GROUP_FIELDS = ['name', 'description', 'kind', 'attributes'];

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v));

class StreamAccess {
  private readonly bySource: Map<string, FieldRule>;
  constructor(readonly rules: FieldRule[]) {
    this.bySource = new Map(rules.map((r) => [r.source, r]));
  }
  /** the stored value of a normalized field, whatever its publishing rule (structural ids) */
  raw(data: Record<string, unknown>, field: string): unknown {
    const r = this.bySource.get(field);
    return r ? data[r.target] : undefined;
  }
  /** the value as published (hashed / left out by its rule) */
  published(data: Record<string, unknown>, field: string): unknown {
    const r = this.bySource.get(field);
    return r ? applyRule(r, data[r.target]) : undefined;
  }
  rule(field: string): FieldRule | undefined {
    return this.bySource.get(field);
  }
}

/** the merge key of an identity user: normalized, hashed when its field is, absent when withheld */
function userKey(access: StreamAccess, data: Record<string, unknown>, setting: string): string | undefined {
  let field = setting;
  let value: unknown;
  if (setting.startsWith('attribute:')) {
    field = 'attributes';
    const attrs = access.raw(data, 'attributes');
    value = attrs && typeof attrs === 'object' ? (attrs as Record<string, unknown>)[setting.slice('attribute:'.length)] : undefined;
  } else {
    value = access.raw(data, setting);
  }
  const rule = access.rule(field);
  const s = str(dropNulls(value));
  if (!rule || rule.action === 'omit' || s === undefined || s.trim() === '') return undefined;
  const normalized = setting === 'id' ? s : s.trim().toLowerCase();
  return rule.action === 'hash' ? hashValue(normalized) : normalized;
}

class IdentityCollector {
  readonly input: IdentitySourceIn;
  constructor(key: string, private readonly userKeySetting: string) {
    this.input = { key, users: [], groups: [], memberships: [], roles: [], roleAssignments: [] };
  }
  add(stream: IdentityStream, access: StreamAccess, data: Record<string, unknown>): void {
    const id = str(access.raw(data, 'id'));
    if (id === undefined) return;
    switch (stream) {
      case 'users': {
        const fields: Record<string, unknown> = {};
        for (const f of USER_FIELDS) {
          const v = access.published(data, f);
          if (v !== undefined) fields[f] = v;
        }
        this.input.users.push({ id, key: userKey(access, data, this.userKeySetting), fields, managerId: str(access.raw(data, 'manager_id')) });
        break;
      }
      case 'groups': {
        const fields: Record<string, unknown> = {};
        for (const f of GROUP_FIELDS) {
          const v = access.published(data, f);
          if (v !== undefined) fields[f] = v;
        }
        this.input.groups.push({ id, name: str(fields.name), fields });
        break;
      }
      case 'memberships': {
        const [g, m, t] = ['group_id', 'member_id', 'member_type'].map((f) => str(access.raw(data, f)));
        if (g && m && t) this.input.memberships.push({ group_id: g, member_id: m, member_type: t });
        break;
      }
      case 'roles':
        this.input.roles.push({ id, name: str(access.published(data, 'name')) });
        break;
      case 'role_assignments': {
        const [r, p, t] = ['role_id', 'principal_id', 'principal_type'].map((f) => str(access.raw(data, f)));
        if (r && p && t) this.input.roleAssignments.push({ role_id: r, principal_id: p, principal_type: t });
        break;
      }
    }
  }
}

const isIdentityStream = (name: string): name is IdentityStream => (IDENTITY_STREAMS as readonly string[]).includes(name);

function objectBytes(entries: Array<[string, Buffer]>): Buffer {
  const chunks: Buffer[] = [Buffer.from('{')];
  entries.forEach(([k, v], i) => {
    chunks.push(Buffer.from(`${i ? ',' : ''}${JSON.stringify(k)}:`), v);
  });
  chunks.push(Buffer.from('}'));
  return Buffer.concat(chunks);
}

async function serializeStream(trx: Executor, opts: BuildOptions, src: SourceRow, stream: StreamMapping, rules: FieldRule[], onRecord?: (data: Record<string, unknown>) => void): Promise<{ bytes: Buffer; count: number }> {
  const chunks: Buffer[] = [Buffer.from('{')];
  let afterKey: string | undefined;
  let count = 0;
  const limit = opts.pageSize ?? 2000;
  for (;;) {
    const page = await documentsRepository.recordsPage(trx, { tenantId: opts.tenantId, connectionId: src.id, stream: stream.target_name, afterKey, limit });
    for (const r of page) {
      onRecord?.(r.data);
      chunks.push(Buffer.from(`${count ? ',' : ''}${JSON.stringify(r.record_key)}:${JSON.stringify(publishRecord(rules, r.data))}`));
      count++;
    }
    if (page.length < limit) break;
    afterKey = page[page.length - 1]!.record_key;
  }
  chunks.push(Buffer.from('}'));
  return { bytes: Buffer.concat(chunks), count };
}

export async function buildDocument(trx: Executor, opts: BuildOptions): Promise<BuiltDocument> {
  const parts = new Map<string, Buffer>();
  const sourceRows = await documentsRepository.sources(trx, opts.tenantId);
  const tenantSettings: TenantOpalSettings = await documentsRepository.tenantSettings(trx, opts.tenantId);
  const userKeySetting = tenantSettings.user_key ?? opts.defaultUserKey;
  let sensitivity: Sensitivity = 'public';
  const layouts: SourceLayout[] = [];
  const identitySources: IdentitySourceIn[] = [];
  const metaSources: Array<[string, Buffer]> = [];
  const sourceParts: Array<[string, Buffer]> = [];
  const usedKeys = new Set<string>();

  for (const src of sourceRows) {
    let key = sourceKeyOf(src.name, src.id);
    if (usedKeys.has(key)) key = `${key}_${src.id.replace(/-/g, '')}`;
    usedKeys.add(key);
    const category = opts.categoryOf(src.type) ?? 'unknown';
    const identity = category === 'identity';
    const collector = identity ? new IdentityCollector(key, userKeySetting) : undefined;
    const streamParts: Array<[string, Buffer]> = [];
    const counts: Record<string, number> = {};
    const layout: SourceLayout = { key, connectionId: src.id, name: src.name, type: src.type, category, identity, streams: [], sourceStreams: {}, bytes: 0, streamBytes: {}, split: false };
    for (const stream of src.streams ?? []) {
      const rules = fieldRules(stream, src.opal_settings ?? {});
      for (const r of rules) {
        const s = carriedSensitivity(r);
        if (s) sensitivity = maxSensitivity(sensitivity, s);
      }
      const access = new StreamAccess(rules);
      const identityStream = collector && isIdentityStream(stream.name) ? stream.name : undefined;
      const { bytes, count } = await serializeStream(trx, opts, src, stream, rules, identityStream ? (data) => collector!.add(identityStream, access, data) : undefined);
      streamParts.push([stream.target_name, bytes]);
      parts.set(`sources/${key}/${stream.target_name}`, bytes);
      counts[stream.target_name] = count;
      layout.streams.push(stream.target_name);
      layout.sourceStreams[stream.target_name] = stream.name;
      layout.streamBytes[stream.target_name] = bytes.length;
    }
    const sourceBytes = objectBytes(streamParts);
    parts.set(`sources/${key}`, sourceBytes);
    sourceParts.push([key, sourceBytes]);
    layout.bytes = sourceBytes.length;
    layout.split = sourceBytes.length > opts.splitBytes && layout.streams.length > 0;
    layouts.push(layout);
    if (collector) identitySources.push(collector.input);

    const lastSuccess = src.last_success_at ? new Date(src.last_success_at) : undefined;
    const stale = !lastSuccess || opts.now.getTime() - lastSuccess.getTime() > opts.staleAfterSeconds * 1000;
    const streamRevisions = src.stream_revisions ?? {};
    const meta = dropNulls({
      id: src.id,
      name: src.name,
      type: src.type,
      category,
      status: src.last_status ?? 'never_synced',
      connection_status: src.status,
      synced_at: lastSuccess?.toISOString(),
      stale,
      stale_after_s: opts.staleAfterSeconds,
      revision: Number(src.revision ?? 0),
      streams: Object.fromEntries(layout.streams.map((s) => [s, { records: counts[s] ?? 0, revision: Number(streamRevisions[s] ?? 0) }])),
    });
    metaSources.push([key, Buffer.from(JSON.stringify(meta))]);
  }

  const merged = mergeIdentities(identitySources, { groupKey: (tenantSettings.group_key as GroupKeyKind | undefined) ?? 'name' });
  const users = Buffer.from(JSON.stringify(dropNulls(merged.users)));
  const groups = Buffer.from(JSON.stringify(dropNulls(merged.groups)));
  const generatedAt = opts.now.toISOString();
  const meta = Buffer.concat([
    Buffer.from(`{"tenant":${JSON.stringify(opts.tenantId)},"revision":${opts.revision},"generated_at":${JSON.stringify(generatedAt)},"sources":`),
    objectBytes(metaSources),
    Buffer.from('}'),
  ]);
  const sources = objectBytes(sourceParts);
  const document = objectBytes([['users', users], ['groups', groups], ['sources', sources], ['meta', meta]]);
  parts.set('users', users);
  parts.set('groups', groups);
  parts.set('meta', meta);
  parts.set('document', document);

  const etags: Record<string, string> = {};
  for (const [name, bytes] of parts) etags[name] = crypto.createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
  return {
    index: { tenant: opts.tenantId, revision: opts.revision, generatedAt, sensitivity, bytes: document.length, sources: layouts, identity: merged.stats, etags },
    parts,
  };
}
