/**
 * The data plane's operations behind the routes: serving document parts and bundles, OPAL
 * entries and config, publications and reports, settings, the admin snapshot, token revocation.
 */
import type { Database } from '../db/database.ts';
import type { RequestContext } from '../auth/principal.ts';
import type { TenantsService } from '../tenancy/tenants.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { PipError } from '../errors.ts';
import { connectionsRepository } from '../connections/connections.repository.ts';
import type { DataTokens } from './data-tokens.ts';
import type { DocumentsService, LoadedDocument, ServedPart } from './documents.service.ts';
import { allPaths, connectionPaths, toEntry, type DataSourceEntry } from './entries.ts';
import type { OpalPublisher } from './publisher.ts';
import { publicationsRepository, type PublicationRow, type ReportRow } from './publications.repository.ts';
import { documentsRepository, type TenantOpalSettings } from './documents.repository.ts';
import { fieldRules, maskRecord, type ConnectionOpalSettings } from './field-rules.ts';
import { sourceKeyOf } from './document.builder.ts';
import { buildBundle, type Bundle } from './bundles.ts';

export interface OpalServiceOptions {
  publicUrl: string;
  dstPrefix: string;
  opalServerConfigured: boolean;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export class OpalService {
  private readonly bundles = new Map<string, { version: string; bundle: Promise<Bundle> }>();

  constructor(
    private readonly db: Database,
    readonly documents: DocumentsService,
    readonly tokens: DataTokens,
    readonly publisher: OpalPublisher,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    private readonly opts: OpalServiceOptions,
  ) {}

  /** a part of the current document: '' (whole), users, groups, meta, sources/<c>[/<stream>] */
  async part(tenantId: string, path: string, o: { minRevision?: number } = {}): Promise<{ part: ServedPart; doc: LoadedDocument }> {
    const doc = await this.documents.get(tenantId, o);
    let name = path === '' ? 'document' : path;
    if (name.startsWith('sources/') && !doc.parts.has(name)) {
      // a connection may also be named by its id
      const [, conn, ...rest] = name.split('/');
      const byId = doc.index.sources.find((s) => s.connectionId === conn);
      if (byId) name = ['sources', byId.key, ...rest].join('/');
    }
    const part = doc.parts.get(name);
    if (!part) throw new PipError('PIP_NOT_FOUND', 404, `no ${path} in the data of tenant ${tenantId}`);
    return { part, doc };
  }

  async bundle(tenantId: string): Promise<Bundle> {
    const doc = await this.documents.get(tenantId);
    let hit = this.bundles.get(tenantId);
    if (!hit || hit.version !== doc.version) {
      hit = { version: doc.version, bundle: buildBundle(doc, this.opts.dstPrefix) };
      this.bundles.set(tenantId, hit);
      hit.bundle.catch(() => this.bundles.delete(tenantId));
    }
    return hit.bundle;
  }

  private entryOptions(tenantId: string, token?: string) {
    return { publicUrl: this.opts.publicUrl, dstPrefix: this.opts.dstPrefix, tenantId, token };
  }

  /** every entry of the tenant, each with a fresh data token in config.headers */
  async tenantEntries(tenantId: string): Promise<DataSourceEntry[]> {
    const doc = await this.documents.get(tenantId);
    const token = await this.tokens.issue(tenantId);
    return allPaths(doc.index).map((p) => toEntry(p, this.entryOptions(tenantId, token)));
  }

  async connectionEntries(ctx: RequestContext, connectionId: string): Promise<DataSourceEntry[]> {
    await this.requireConnection(ctx, connectionId);
    const doc = await this.documents.get(ctx.tenantId);
    const token = await this.tokens.issue(ctx.tenantId);
    return connectionPaths(doc.index, connectionId).map((p) => toEntry(p, this.entryOptions(ctx.tenantId, token)));
  }

  private async requireConnection(ctx: RequestContext, connectionId: string) {
    const row = /^[0-9a-f-]{36}$/i.test(connectionId) ? await this.db.withTenant(ctx.tenantId, (trx) => connectionsRepository.find(trx, ctx.tenantId, connectionId)) : undefined;
    if (!row) throw new PipError('PIP_CONNECTION_NOT_FOUND', 404, `connection ${connectionId} not found`);
    return row;
  }

  async tenantActive(tenantId: string): Promise<boolean> {
    const t = await this.tenants.getCached(tenantId);
    return !!t && t.status === 'active';
  }

  async revokeTokens(ctx: RequestContext): Promise<{ token_version: number }> {
    return { token_version: await this.tenants.bumpTokenVersion(ctx, ctx.tenantId) };
  }

  async publishConnection(ctx: RequestContext, connectionId: string) {
    await this.requireConnection(ctx, connectionId);
    const { id } = await this.publisher.publishConnection(ctx.tenantId, connectionId, ctx.actor);
    return { publication_id: id };
  }

  async status(ctx: RequestContext, connectionId: string, limit = 20) {
    await this.requireConnection(ctx, connectionId);
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const pubs = await publicationsRepository.listForConnection(trx, ctx.tenantId, connectionId, limit);
      const reports = await publicationsRepository.reportsFor(trx, ctx.tenantId, pubs.map((p) => p.id), limit * 4);
      return {
        opal_server_configured: this.opts.opalServerConfigured,
        publications: pubs.map(publicationView),
        reports: reports.map(reportView),
      };
    });
  }

  /** an OPAL client's DataUpdateReport (sent to the callback of our updates) */
  async report(tenantId: string, body: unknown): Promise<void> {
    const r = (typeof body === 'string' ? safeJson(body) : body) as { update_id?: unknown; reports?: unknown } | undefined;
    if (!r || typeof r !== 'object' || !Array.isArray(r.reports)) throw new PipError('PIP_BAD_REQUEST', 400, 'expected an OPAL DataUpdateReport: {update_id, reports:[{entry, fetched, saved, hash}]}');
    // only what the status page shows; the entry's config (with our token) is never stored
    const entries = r.reports.slice(0, 1000).map((x: any) => ({
      dst_path: typeof x?.entry?.dst_path === 'string' ? x.entry.dst_path.slice(0, 1000) : undefined,
      url: typeof x?.entry?.url === 'string' ? x.entry.url.split('?')[0].slice(0, 2000) : undefined,
      fetched: x?.fetched === true,
      saved: x?.saved === true,
      hash: typeof x?.hash === 'string' ? x.hash.slice(0, 200) : undefined,
    }));
    const updateId = typeof r.update_id === 'string' ? r.update_id.slice(0, 100) : null;
    await this.db.withTenant(tenantId, (trx) => publicationsRepository.insertReport(trx, { tenant_id: tenantId, update_id: updateId, entries, ok: entries.every((e) => e.fetched && e.saved) }));
  }

  /** the connection's part of the document as an admin sees it: restricted fields masked */
  async snapshot(ctx: RequestContext, connectionId: string, limit: number) {
    await this.requireConnection(ctx, connectionId);
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const src = (await documentsRepository.source(trx, ctx.tenantId, connectionId))!;
      const streams: Record<string, { records: Record<string, unknown>; returned: number; truncated: boolean }> = {};
      for (const stream of src.streams ?? []) {
        const rules = fieldRules(stream, src.opal_settings ?? {});
        const page = await documentsRepository.recordsPage(trx, { tenantId: ctx.tenantId, connectionId, stream: stream.target_name, limit: limit + 1 });
        const records: Record<string, unknown> = {};
        for (const r of page.slice(0, limit)) records[r.record_key] = maskRecord(rules, r.data);
        streams[stream.target_name] = { records, returned: Math.min(limit, page.length), truncated: page.length > limit };
      }
      return {
        connection_id: connectionId,
        key: sourceKeyOf(src.name, src.id),
        fields: Object.fromEntries((src.streams ?? []).map((s) => [s.target_name, fieldRules(s, src.opal_settings ?? {}).map((r) => ({ field: r.target, sensitivity: r.sensitivity, published: r.action }))])),
        streams,
      };
    });
  }

  /** settings change the document: this instance reads the new version at once */
  private async afterSettings<T>(tenantId: string, fn: (trx: Parameters<Parameters<Database['withTenant']>[1]>[0]) => Promise<T>): Promise<T> {
    const r = await this.db.withTenant(tenantId, fn);
    this.documents.invalidate(tenantId);
    return r;
  }

  async tenantSettings(ctx: RequestContext): Promise<TenantOpalSettings> {
    return this.db.withTenant(ctx.tenantId, (trx) => documentsRepository.tenantSettings(trx, ctx.tenantId));
  }

  async setTenantSettings(ctx: RequestContext, settings: TenantOpalSettings): Promise<TenantOpalSettings> {
    return this.afterSettings(ctx.tenantId, async (trx) => {
      await documentsRepository.saveTenantSettings(trx, ctx.tenantId, settings);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'opal.settings', targetType: 'tenant', targetId: ctx.tenantId, outcome: 'success', requestId: ctx.requestId, details: { ...settings } });
      return settings;
    });
  }

  async connectionSettings(ctx: RequestContext, connectionId: string): Promise<ConnectionOpalSettings> {
    await this.requireConnection(ctx, connectionId);
    return this.db.withTenant(ctx.tenantId, (trx) => documentsRepository.connectionSettings(trx, ctx.tenantId, connectionId));
  }

  async setConnectionSettings(ctx: RequestContext, connectionId: string, settings: ConnectionOpalSettings): Promise<ConnectionOpalSettings> {
    await this.requireConnection(ctx, connectionId);
    return this.afterSettings(ctx.tenantId, async (trx) => {
      await documentsRepository.saveConnectionSettings(trx, ctx.tenantId, connectionId, settings);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'opal.connection_settings', targetType: 'connection', targetId: connectionId, connectionId, outcome: 'success', requestId: ctx.requestId, details: { ...settings } });
      return settings;
    });
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

export const publicationView = (p: PublicationRow) => ({
  id: p.id,
  created_at: iso(p.created_at)!,
  finished_at: iso(p.finished_at),
  trigger: p.trigger,
  reason: p.reason,
  outcome: p.status,
  attempts: p.attempts,
  http_status: p.http_status,
  error: p.error,
  tenant_revision: p.tenant_revision === null ? null : Number(p.tenant_revision),
  dst_paths: p.entries.map((e) => e.dst_path),
});

export const reportView = (r: ReportRow) => ({
  update_id: r.update_id,
  received_at: iso(r.received_at)!,
  ok: r.ok,
  entries: r.entries,
});
