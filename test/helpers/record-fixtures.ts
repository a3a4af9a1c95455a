/**
 * Fills the record store the way a sync would leave it, without running one: connections with
 * a mapping, records (target field names, content hash, revision), sync_state, tenant_revisions,
 * and the revision event the sync engine announces after commit. SQL follows
 * migrations/20261122_0003_sync_records.ts; used by the data plane tests and opal/seed.ts.
 */
import crypto from 'node:crypto';
import type { Database } from '../../src/db/database.ts';
import type { RevisionEvent, RevisionEvents } from '../../src/records/revision-events.ts';
import type { FieldMapping, StreamMapping } from '../../src/connections/mapping.ts';
import type { Sensitivity } from '../../connectors/sdk/types.ts';
import { identityStream, type IdentityStream } from '../../connectors/sdk/identity.ts';
import { contentHash } from '../../src/records/record-key.ts';
import { ConnectorRegistry } from '../../src/registry/registry.ts';
import { createFakeSource } from '../fakes/fake-source.ts';

export interface StoreHandle {
  db: Database;
  revisions?: RevisionEvents;
}

/** a registry with a database-category fake (`fake`) and an identity-category fake (`fake_idp`) */
export function dataPlaneRegistry(): ConnectorRegistry {
  const db = createFakeSource('fake').definition;
  const idp = createFakeSource('fake_idp').definition;
  return new ConnectorRegistry([db, { ...idp, category: 'identity', displayName: 'Fake identity provider (tests)' }]);
}

export async function createTenant(h: StoreHandle, id: string): Promise<void> {
  await h.db.withSystem((trx) => trx('tenants').insert({ id, name: `Tenant ${id}` }).onConflict('id').ignore());
}

/** a stream mapping: fields as [name, sensitivity, publish?, target?] */
export function streamMapping(name: string, fields: Array<[string, Sensitivity, boolean?, string?]>, opts: { target?: string; primaryKey?: string[] } = {}): StreamMapping {
  return {
    name,
    target_name: opts.target ?? name,
    sync_mode: 'full',
    primary_key: opts.primaryKey ?? ['id'],
    fields: fields.map(([f, sensitivity, publish, target]): FieldMapping => ({ name: f, target: target ?? f, sensitivity, publish: publish ?? sensitivity !== 'restricted' })),
  };
}

/** the normalized identity streams mapped one to one, with their suggested sensitivities */
export function identityMapping(streams: IdentityStream[] = ['users', 'groups', 'memberships', 'roles', 'role_assignments'], overrides: Record<string, Partial<FieldMapping>> = {}): StreamMapping[] {
  return streams.map((s) => {
    const cat = identityStream(s);
    return {
      name: s,
      target_name: s,
      sync_mode: 'full',
      primary_key: ['id'],
      fields: cat.fields.map((f) => ({ name: f.name, target: f.name, sensitivity: f.suggestedSensitivity, publish: f.suggestedSensitivity !== 'restricted', ...overrides[`${s}.${f.name}`] })),
    };
  });
}

export async function insertConnection(h: StoreHandle, c: { tenantId: string; name: string; type: string; streams: StreamMapping[]; id?: string; createdAt?: Date }): Promise<string> {
  const id = c.id ?? crypto.randomUUID();
  await h.db.withTenant(c.tenantId, async (trx) => {
    await trx('connections').insert({
      id,
      tenant_id: c.tenantId,
      name: c.name,
      type: c.type,
      status: 'active',
      config: JSON.stringify({ host: 'localhost' }),
      streams: JSON.stringify(c.streams),
      settings: '{}',
      created_by: 'test',
      ...(c.createdAt ? { created_at: c.createdAt, updated_at: c.createdAt } : {}),
    });
    await trx('sync_state').insert({ tenant_id: c.tenantId, connection_id: id });
  });
  return id;
}

/** upserts records (data under target field names) at the connection's next revision */
export async function putRecords(h: StoreHandle, p: { tenantId: string; connectionId: string; stream: string; records: Array<Record<string, unknown>>; key?: (r: Record<string, unknown>) => string; revision?: number }): Promise<void> {
  const key = p.key ?? ((r) => String(r.id));
  await h.db.withTenant(p.tenantId, async (trx) => {
    const state = await trx('sync_state').where({ connection_id: p.connectionId }).first();
    const revision = p.revision ?? Number(state?.revision ?? 0) + 1;
    for (const r of p.records) {
      await trx('records')
        .insert({ tenant_id: p.tenantId, connection_id: p.connectionId, stream: p.stream, record_key: key(r), data: JSON.stringify(r), hash: contentHash(r), revision })
        .onConflict(['tenant_id', 'connection_id', 'stream', 'record_key'])
        .merge(['data', 'hash', 'revision', 'updated_at']);
    }
  });
}

export async function deleteRecords(h: StoreHandle, p: { tenantId: string; connectionId: string; stream: string; keys: string[] }): Promise<void> {
  await h.db.withTenant(p.tenantId, (trx) => trx('records').where({ tenant_id: p.tenantId, connection_id: p.connectionId, stream: p.stream }).whereIn('record_key', p.keys).delete());
}

/**
 * What the sync engine does when a run changed something: the connection's revision + 1, the
 * changed streams' revisions, the sync outcome, the tenant revision + 1, then the event.
 */
export async function commitRevision(h: StoreHandle, p: { tenantId: string; connectionId: string; changedStreams: string[]; status?: string; syncedAt?: Date | null; reason?: string; emit?: boolean }): Promise<RevisionEvent> {
  const event = await h.db.withTenant(p.tenantId, async (trx) => {
    const state = await trx('sync_state').where({ connection_id: p.connectionId }).forUpdate().first();
    const revision = Number(state.revision) + 1;
    const streamRevisions = { ...state.stream_revisions };
    for (const s of p.changedStreams) streamRevisions[s] = revision;
    const syncedAt = p.syncedAt === undefined ? new Date() : p.syncedAt;
    await trx('sync_state').where({ connection_id: p.connectionId }).update({
      revision,
      stream_revisions: JSON.stringify(streamRevisions),
      last_run_at: syncedAt ?? trx.raw('now()'),
      last_success_at: syncedAt,
      last_status: p.status ?? 'succeeded',
    });
    const { rows } = await trx.raw(
      `insert into tenant_revisions (tenant_id, revision, updated_at) values (?, 1, now())
       on conflict (tenant_id) do update set revision = tenant_revisions.revision + 1, updated_at = now() returning revision`,
      [p.tenantId],
    );
    return { tenantId: p.tenantId, connectionId: p.connectionId, revision, tenantRevision: Number(rows[0].revision), changedStreams: p.changedStreams, reason: p.reason ?? 'sync' };
  });
  if (p.emit !== false) h.revisions?.emit(event);
  return event;
}

/** a sync that changed nothing: only the outcome moves (no revision, no event) */
export async function recordSyncOutcome(h: StoreHandle, p: { tenantId: string; connectionId: string; status: string; syncedAt?: Date | null }): Promise<void> {
  await h.db.withTenant(p.tenantId, (trx) =>
    trx('sync_state').where({ connection_id: p.connectionId }).update({ last_status: p.status, last_run_at: trx.raw('now()'), ...(p.syncedAt !== undefined ? { last_success_at: p.syncedAt } : {}) }),
  );
}
