/**
 * Connections: a connector type plus an admin's config (secrets sealed in the vault), tested,
 * discovered and mapped. Network calls (test, discover) never run inside a database
 * transaction: secrets are revealed in one short transaction (audited), the call runs, and the
 * outcome is stored in another.
 */
import crypto from 'node:crypto';
import type { Database, Executor } from '../db/database.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { SecretsService } from '../secrets/secrets.service.ts';
import type { RequestContext } from '../auth/principal.ts';
import { PipError, validationError } from '../errors.ts';
import { decodeTimeCursor, timeCursorOf, toPage } from '../http/pagination.ts';
import { deletePath, getPath, SECRET_MASK, setPath } from '../registry/config-schema.ts';
import type { ConnectorRegistry, RegisteredConnector } from '../registry/registry.ts';
import type { CheckOutcome, ConnectorRuntime } from '../registry/runtime.ts';
import { isSourceError } from '../../connectors/sdk/errors.ts';
import type { Catalog, OAuthTokenProvider } from '../../connectors/sdk/types.ts';
import { connectionsRepository, type CatalogRow, type ConnectionRow, type ConnectionSettings } from './connections.repository.ts';
import { diffCatalogs } from './catalog-diff.ts';
import { resolveMapping, type StreamMapping, type StreamMappingInput } from './mapping.ts';

const OWNER = 'connection';
const CATALOG_VERSIONS_KEPT = 10;

export interface ConnectionView {
  id: string;
  name: string;
  type: string;
  category: string;
  status: 'active' | 'paused';
  config: Record<string, unknown>;
  settings: ConnectionSettings;
  streams_configured: number;
  last_test: Record<string, unknown> | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** a connection ready for a connector call: its definition and its config with secrets */
export interface LoadedConnection {
  row: ConnectionRow;
  connector: RegisteredConnector;
  config: Record<string, unknown>;
  secretValues: string[];
  /** set when the connection is OAuth-authorized through the service (src/oauth) */
  oauthTokens?: OAuthTokenProvider;
}

/** gives a loaded connection its OAuth token provider when it has an OAuth grant */
export type OAuthTokenResolver = (p: { trx: Executor; tenantId: string; row: ConnectionRow; connector: RegisteredConnector; config: Record<string, unknown> }) => Promise<OAuthTokenProvider | undefined>;

export class ConnectionsService {
  constructor(
    private readonly db: Database,
    private readonly registry: ConnectorRegistry,
    private readonly runtime: ConnectorRuntime,
    private readonly secrets: SecretsService,
    private readonly audit: AuditService,
  ) {}

  private oauthTokenResolver?: OAuthTokenResolver;

  /** wired by the container: the OAuth service resolves token providers (it needs this service too) */
  useOAuthTokens(resolver: OAuthTokenResolver): void {
    this.oauthTokenResolver = resolver;
  }

  connector(type: string): RegisteredConnector {
    const c = this.registry.get(type);
    if (!c) throw new PipError('PIP_CONNECTOR_NOT_FOUND', 404, `connector type ${type} is not available; GET /pip/connectors lists the available types`);
    return c;
  }

  private async secretNames(trx: Executor, tenantId: string, id: string, connector: RegisteredConnector): Promise<string[]> {
    const names: string[] = [];
    for (const p of connector.config.secrets) if (await this.secrets.has(trx, { tenantId, ownerType: OWNER, ownerId: id, name: p })) names.push(p);
    return names;
  }

  private view(row: ConnectionRow, setSecrets: string[]): ConnectionView {
    const c = this.registry.get(row.type);
    return {
      id: row.id,
      name: row.name,
      type: row.type,
      category: c?.definition.category ?? 'unknown',
      status: row.status,
      config: c ? c.config.mask(row.config, setSecrets) : row.config,
      settings: row.settings,
      streams_configured: row.streams.length,
      last_test: row.last_test,
      created_by: row.created_by,
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
    };
  }

  private validateConfig(connector: RegisteredConnector, config: Record<string, unknown>): void {
    const problems = connector.config.validate(config);
    if (problems.length) throw validationError(problems, 'config');
  }

  private async assertTargets(connector: RegisteredConnector, config: Record<string, unknown>): Promise<void> {
    try {
      await this.runtime.assertTargetsAllowed(connector.definition, config);
    } catch (err) {
      if (isSourceError(err) && err.kind === 'blocked') throw new PipError('PIP_TARGET_BLOCKED', 400, err.message, { hint: err.hint });
      // DNS failures are not a reason to refuse saving: the test route reports them
    }
  }

  async get(ctx: RequestContext, id: string): Promise<ConnectionView> {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const row = await this.require(trx, ctx.tenantId, id);
      return this.view(row, await this.secretNames(trx, ctx.tenantId, id, this.connector(row.type)));
    });
  }

  async require(trx: Executor, tenantId: string, id: string): Promise<ConnectionRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await connectionsRepository.find(trx, tenantId, id) : undefined;
    if (!row) throw new PipError('PIP_CONNECTION_NOT_FOUND', 404, `connection ${id} not found`);
    return row;
  }

  async create(ctx: RequestContext, input: { name: string; type: string; config: Record<string, unknown>; settings?: ConnectionSettings }): Promise<ConnectionView> {
    const connector = this.connector(input.type);
    const config = structuredClone(input.config);
    this.validateConfig(connector, config);
    await this.assertTargets(connector, config);
    const { stored, secrets } = connector.config.split(config);
    const id = crypto.randomUUID();
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      if (await connectionsRepository.findByName(trx, ctx.tenantId, input.name)) throw new PipError('PIP_CONNECTION_EXISTS', 409, `a connection named ${input.name} already exists`);
      const row = await connectionsRepository.insert(trx, { id, tenant_id: ctx.tenantId, name: input.name, type: input.type, status: 'active', config: stored, settings: input.settings ?? {}, created_by: ctx.actor });
      for (const [name, value] of Object.entries(secrets)) await this.secrets.put(trx, { tenantId: ctx.tenantId, ownerType: OWNER, ownerId: id, name }, value);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.create', targetType: 'connection', targetId: id, connectionId: id, outcome: 'success', requestId: ctx.requestId, details: { name: input.name, type: input.type, secrets: Object.keys(secrets) } });
      return this.view(row, Object.keys(secrets));
    });
  }

  async list(ctx: RequestContext, q: { limit?: number; cursor?: string; type?: string; category?: string; status?: string }) {
    const limit = q.limit ?? 50;
    const after = decodeTimeCursor(q.cursor);
    const types = q.category ? this.registry.list().filter((c) => c.definition.category === q.category).map((c) => c.definition.type) : undefined;
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const rows = await connectionsRepository.list(trx, { tenantId: ctx.tenantId, type: q.type, types, status: q.status, after, limit: limit + 1 });
      const views: ConnectionView[] = [];
      for (const r of rows.slice(0, limit)) views.push(this.view(r, this.registry.get(r.type) ? await this.secretNames(trx, ctx.tenantId, r.id, this.connector(r.type)) : []));
      const page = toPage(rows, limit, (r) => r.id, timeCursorOf);
      return { items: views, next_cursor: page.next_cursor };
    });
  }

  /**
   * Updates name, status, settings and config. Secret fields omitted from the config, or sent
   * back as the mask, keep their stored value; a secret set to null is removed.
   */
  async update(ctx: RequestContext, id: string, patch: { name?: string; status?: 'active' | 'paused'; config?: Record<string, unknown>; settings?: ConnectionSettings }): Promise<ConnectionView> {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const row = await this.require(trx, ctx.tenantId, id);
      const connector = this.connector(row.type);
      const setBefore = await this.secretNames(trx, ctx.tenantId, id, connector);
      const changes: Partial<ConnectionRow> = {};
      let newSecrets: Record<string, string> = {};
      const removedSecrets: string[] = [];
      if (patch.name && patch.name !== row.name) {
        const clash = await connectionsRepository.findByName(trx, ctx.tenantId, patch.name);
        if (clash) throw new PipError('PIP_CONNECTION_EXISTS', 409, `a connection named ${patch.name} already exists`);
        changes.name = patch.name;
      }
      if (patch.status) changes.status = patch.status;
      if (patch.settings) changes.settings = { ...row.settings, ...patch.settings };
      if (patch.config) {
        const incoming = structuredClone(patch.config);
        for (const p of connector.config.secrets) {
          const v = getPath(incoming, p);
          if (v === null) {
            removedSecrets.push(p);
            deletePath(incoming, p);
          } else if (v === undefined || v === SECRET_MASK) {
            // kept: validated as the mask, never decrypted for an update
            if (setBefore.includes(p)) setPath(incoming, p, SECRET_MASK);
            else deletePath(incoming, p);
          }
        }
        this.validateConfig(connector, incoming);
        await this.assertTargets(connector, incoming);
        const { stored, secrets } = connector.config.split(incoming);
        newSecrets = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== SECRET_MASK));
        changes.config = stored;
      }
      const updated = await connectionsRepository.update(trx, ctx.tenantId, id, changes);
      for (const [name, value] of Object.entries(newSecrets)) await this.secrets.put(trx, { tenantId: ctx.tenantId, ownerType: OWNER, ownerId: id, name }, value);
      if (removedSecrets.length) {
        const keep = setBefore.filter((p) => !removedSecrets.includes(p));
        await this.secrets.deleteOwner(trx, ctx.tenantId, OWNER, id, keep);
      }
      await this.audit.record(trx, {
        tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.update', targetType: 'connection', targetId: id, connectionId: id, outcome: 'success', requestId: ctx.requestId,
        details: { fields: Object.keys(changes), secrets_changed: Object.keys(newSecrets), secrets_removed: removedSecrets },
      });
      const setAfter = [...new Set([...setBefore.filter((p) => !removedSecrets.includes(p)), ...Object.keys(newSecrets)])];
      return this.view(updated!, setAfter);
    });
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    await this.db.withTenant(ctx.tenantId, async (trx) => {
      const row = await this.require(trx, ctx.tenantId, id);
      await this.secrets.deleteOwner(trx, ctx.tenantId, OWNER, id);
      await connectionsRepository.delete(trx, ctx.tenantId, id);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.delete', targetType: 'connection', targetId: id, connectionId: id, outcome: 'success', requestId: ctx.requestId, details: { name: row.name, type: row.type } });
    });
  }

  /** loads a connection with its secrets revealed (audited with the purpose) */
  async load(tenantId: string, id: string, reveal: { actor: string; requestId?: string; purpose: string }): Promise<LoadedConnection> {
    return this.db.withTenant(tenantId, async (trx) => {
      const row = await this.require(trx, tenantId, id);
      const connector = this.connector(row.type);
      const secrets = await this.secrets.revealAll(trx, tenantId, OWNER, id, { ...reveal, connectionId: id });
      const config = connector.config.merge(row.config, secrets);
      const oauthTokens = await this.oauthTokenResolver?.({ trx, tenantId, row, connector, config });
      return { row, connector, config, secretValues: Object.values(secrets), ...(oauthTokens ? { oauthTokens } : {}) };
    });
  }

  async testUnsaved(ctx: RequestContext, input: { type: string; config: Record<string, unknown> }): Promise<CheckOutcome> {
    const connector = this.connector(input.type);
    const config = structuredClone(input.config);
    this.validateConfig(connector, config);
    const secrets = Object.values(connector.config.split(config).secrets);
    const outcome = await this.runtime.check(connector.definition, config, secrets);
    await this.audit.recordAlone({ tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.test_unsaved', targetType: 'connector', targetId: input.type, outcome: outcome.ok ? 'success' : 'failure', requestId: ctx.requestId, details: { ok: outcome.ok, error_code: outcome.error?.code ?? null } });
    return outcome;
  }

  async test(ctx: RequestContext, id: string): Promise<CheckOutcome> {
    const loaded = await this.load(ctx.tenantId, id, { actor: ctx.actor, requestId: ctx.requestId, purpose: 'connection.test' });
    const outcome = await this.runtime.check(loaded.connector.definition, loaded.config, loaded.secretValues, { oauthTokens: loaded.oauthTokens });
    await this.db.withTenant(ctx.tenantId, async (trx) => {
      await connectionsRepository.update(trx, ctx.tenantId, id, { last_test: { ok: outcome.ok, at: new Date().toISOString(), latency_ms: outcome.latency_ms, error: outcome.error } });
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.test', targetType: 'connection', targetId: id, connectionId: id, outcome: outcome.ok ? 'success' : 'failure', requestId: ctx.requestId, details: { error_code: outcome.error?.code ?? null, latency_ms: outcome.latency_ms } });
    });
    return outcome;
  }

  async discover(ctx: RequestContext, id: string): Promise<CatalogRow> {
    const loaded = await this.load(ctx.tenantId, id, { actor: ctx.actor, requestId: ctx.requestId, purpose: 'connection.discover' });
    let catalog: Catalog;
    try {
      catalog = await this.runtime.discover(loaded.connector.definition, loaded.config, { oauthTokens: loaded.oauthTokens });
    } catch (err) {
      await this.audit.recordAlone({ tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.discover', targetType: 'connection', targetId: id, connectionId: id, outcome: 'failure', requestId: ctx.requestId, details: { error_code: isSourceError(err) ? err.code : 'PIP_INTERNAL' } });
      throw err;
    }
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      const [prev] = await connectionsRepository.latestCatalogs(trx, ctx.tenantId, id, 1);
      const row = await connectionsRepository.insertCatalog(trx, { tenant_id: ctx.tenantId, connection_id: id, version: (prev?.version ?? 0) + 1, catalog, diff: diffCatalogs(prev?.catalog, catalog) });
      await connectionsRepository.pruneCatalogs(trx, ctx.tenantId, id, CATALOG_VERSIONS_KEPT);
      await this.audit.record(trx, { tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.discover', targetType: 'connection', targetId: id, connectionId: id, outcome: 'success', requestId: ctx.requestId, details: { version: row.version, streams: catalog.streams.length } });
      return row;
    });
  }

  async schema(ctx: RequestContext, id: string): Promise<CatalogRow> {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      await this.require(trx, ctx.tenantId, id);
      const [latest] = await connectionsRepository.latestCatalogs(trx, ctx.tenantId, id, 1);
      if (!latest) throw new PipError('PIP_CATALOG_MISSING', 409, `connection ${id} has not been discovered yet: POST /pip/connections/${id}/discover first`);
      return latest;
    });
  }

  async getStreams(ctx: RequestContext, id: string): Promise<StreamMapping[]> {
    return this.db.withTenant(ctx.tenantId, async (trx) => (await this.require(trx, ctx.tenantId, id)).streams);
  }

  async setStreams(ctx: RequestContext, id: string, input: StreamMappingInput[]): Promise<StreamMapping[]> {
    return this.db.withTenant(ctx.tenantId, async (trx) => {
      await this.require(trx, ctx.tenantId, id);
      const [latest] = await connectionsRepository.latestCatalogs(trx, ctx.tenantId, id, 1);
      if (!latest) throw new PipError('PIP_CATALOG_MISSING', 409, `connection ${id} has not been discovered yet: POST /pip/connections/${id}/discover first`);
      const streams = resolveMapping(latest.catalog, input);
      await connectionsRepository.update(trx, ctx.tenantId, id, { streams });
      await this.audit.record(trx, {
        tenantId: ctx.tenantId, actor: ctx.actor, action: 'connection.map', targetType: 'connection', targetId: id, connectionId: id, outcome: 'success', requestId: ctx.requestId,
        details: { streams: streams.map((s) => ({ name: s.name, target: s.target_name, mode: s.sync_mode, fields: s.fields.length })) },
      });
      return streams;
    });
  }
}
