/**
 * The example store behind the Rego examples and their `opa test` fixtures (and several data
 * plane tests): two identity sources that overlap (merged by email, nested groups, a group
 * cycle, roles through groups), an application database with document owners and a restricted
 * field, and a CRM that has gone stale.
 */
import {
  commitRevision,
  createTenant,
  identityMapping,
  insertConnection,
  putRecords,
  streamMapping,
  type StoreHandle,
} from '../test/helpers/record-fixtures.ts';

export interface SeedOptions {
  tenantId: string;
  identityType: string;
  databaseType: string;
  /** "now" of the scenario: sync times are relative to it */
  now: Date;
  /** fixed connection ids (fixtures); random otherwise */
  ids?: { corp: string; hr: string; app: string; crm: string };
}

export interface SeededTenant {
  corp: string;
  hr: string;
  app: string;
  crm: string;
}

const minutesBefore = (now: Date, m: number) => new Date(now.getTime() - m * 60_000);

export async function seedExample(h: StoreHandle, o: SeedOptions): Promise<SeededTenant> {
  const t = o.tenantId;
  await createTenant(h, t);
  const created = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n));

  const corp = await insertConnection(h, { tenantId: t, name: 'corp_idp', type: o.identityType, streams: identityMapping(), id: o.ids?.corp, createdAt: created(1) });
  await putRecords(h, { tenantId: t, connectionId: corp, stream: 'users', records: [
    { id: 'u1', email: 'Alice@Example.com', username: 'alice', display_name: 'Alice Liddell', status: 'active', department: 'R&D', manager_id: 'u3', attributes: { cost_center: 'cc-100', clearance: null } },
    { id: 'u2', email: 'bob@example.com', username: 'bob', display_name: 'Bob Builder', status: 'active', attributes: {} },
    { id: 'u3', email: 'carol@example.com', username: 'carol', display_name: 'Carol Chief', status: 'active', attributes: {} },
    { id: 'u4', email: null, username: 'svc-backup', display_name: 'Backup service', status: 'active', attributes: {} },
    { id: 'u5', email: 'mallory@example.com', username: 'mallory', display_name: 'Mallory', status: 'suspended', attributes: {} },
  ] });
  await putRecords(h, { tenantId: t, connectionId: corp, stream: 'groups', records: [
    { id: 'g1', name: 'engineering', description: 'All engineers' },
    { id: 'g2', name: 'platform', description: 'Platform team' },
    { id: 'g3', name: 'admins', description: null },
    { id: 'g4', name: 'auditors' },
    { id: 'g5', name: 'loop-a' },
    { id: 'g6', name: 'loop-b' },
  ] });
  const edge = (g: string, type: 'user' | 'group', m: string) => ({ id: `${g}:${type}:${m}`, group_id: g, member_id: m, member_type: type });
  await putRecords(h, { tenantId: t, connectionId: corp, stream: 'memberships', records: [
    edge('g1', 'group', 'g2'), edge('g2', 'user', 'u1'), edge('g1', 'user', 'u2'), edge('g3', 'user', 'u3'), edge('g4', 'user', 'u5'),
    edge('g5', 'group', 'g6'), edge('g6', 'group', 'g5'), edge('g6', 'user', 'u2'),
  ] });
  await putRecords(h, { tenantId: t, connectionId: corp, stream: 'roles', records: [
    { id: 'r1', name: 'admin' }, { id: 'r2', name: 'deployer' }, { id: 'r3', name: 'viewer' },
  ] });
  await putRecords(h, { tenantId: t, connectionId: corp, stream: 'role_assignments', records: [
    { id: 'r1:group:g3', role_id: 'r1', principal_id: 'g3', principal_type: 'group' },
    { id: 'r2:group:g1', role_id: 'r2', principal_id: 'g1', principal_type: 'group' },
    { id: 'r3:user:u5', role_id: 'r3', principal_id: 'u5', principal_type: 'user' },
  ] });
  await commitRevision(h, { tenantId: t, connectionId: corp, changedStreams: ['users', 'groups', 'memberships', 'roles', 'role_assignments'], syncedAt: minutesBefore(o.now, 10) });

  const hr = await insertConnection(h, { tenantId: t, name: 'hr', type: o.identityType, streams: identityMapping(['users', 'groups', 'memberships']), id: o.ids?.hr, createdAt: created(2) });
  await putRecords(h, { tenantId: t, connectionId: hr, stream: 'users', records: [
    { id: 'E-1001', email: 'alice@example.com', display_name: 'Alice L.', department: 'Research', title: 'Staff Engineer', status: 'active' },
    { id: 'E-1002', email: 'Dave@Example.com', display_name: 'Dave Contractor', title: 'Contractor', status: 'active' },
  ] });
  await putRecords(h, { tenantId: t, connectionId: hr, stream: 'groups', records: [{ id: 'HG-1', name: 'engineering', description: 'Engineering (HR)' }] });
  await putRecords(h, { tenantId: t, connectionId: hr, stream: 'memberships', records: [edge('HG-1', 'user', 'E-1002')] });
  await commitRevision(h, { tenantId: t, connectionId: hr, changedStreams: ['users', 'groups', 'memberships'], syncedAt: minutesBefore(o.now, 20) });

  const app = await insertConnection(h, {
    tenantId: t,
    name: 'app_db',
    type: o.databaseType,
    id: o.ids?.app,
    createdAt: created(3),
    streams: [
      streamMapping('public.documents', [['id', 'internal'], ['title', 'internal'], ['owner_email', 'confidential'], ['classification', 'internal'], ['ssn', 'restricted']], { target: 'documents' }),
      streamMapping('public.projects', [['id', 'internal'], ['name', 'internal'], ['owner_group', 'internal']], { target: 'projects' }),
    ],
  });
  await putRecords(h, { tenantId: t, connectionId: app, stream: 'documents', records: [
    { id: 'd1', title: 'Roadmap', owner_email: 'alice@example.com', classification: 'internal', ssn: '078-05-1120' },
    { id: 'd2', title: 'Budget', owner_email: 'bob@example.com', classification: 'confidential', ssn: null },
    { id: 'd3', title: 'Board minutes', owner_email: 'carol@example.com', classification: 'secret', ssn: '219-09-9999' },
  ] });
  await putRecords(h, { tenantId: t, connectionId: app, stream: 'projects', records: [{ id: 'p1', name: 'Atlas', owner_group: 'platform' }, { id: 'p2', name: 'Ledger', owner_group: 'admins' }] });
  await commitRevision(h, { tenantId: t, connectionId: app, changedStreams: ['documents', 'projects'], syncedAt: minutesBefore(o.now, 5) });

  const crm = await insertConnection(h, { tenantId: t, name: 'legacy_crm', type: o.databaseType, id: o.ids?.crm, createdAt: created(4), streams: [streamMapping('accounts', [['id', 'internal'], ['name', 'internal'], ['owner_email', 'confidential']])] });
  await putRecords(h, { tenantId: t, connectionId: crm, stream: 'accounts', records: [{ id: 'a1', name: 'Initech', owner_email: 'bob@example.com' }] });
  await commitRevision(h, { tenantId: t, connectionId: crm, changedStreams: ['accounts'], syncedAt: minutesBefore(o.now, 3 * 24 * 60) });

  return { corp, hr, app, crm };
}
