/**
 * The LDAP connector against a real OpenLDAP (test/helpers/slapd.ts: a private slapd on
 * loopback, 2,000 users and 200 groups loaded once for this file, LDAPS and StartTLS with a test
 * CA). Expected values come from the directory itself through ldapsearch, never from the
 * connector's own code.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, collect, recordsOf, statesOf, testReadContext } from '../../test/fakes/connector-context.ts';
import { GROUPS, normalizeDnForTest, PEOPLE, RESTRICTED, startSlapd, SUFFIX, type LdifEntry, type SlapdServer } from '../../test/helpers/slapd.ts';
import type { SourceError } from '../sdk/errors.ts';
import type { CatalogStream, ConfiguredStream, ReadContext, ReadMessage } from '../sdk/types.ts';
import connector, { parseLdapConfig } from './index.ts';

let ldap: SlapdServer;
let catalog: CatalogStream[];

const config = (over: Record<string, unknown> = {}) =>
  ({
    urls: [ldap.url],
    bindDn: ldap.reader.dn,
    bindPassword: ldap.reader.password,
    userBaseDns: [PEOPLE],
    groupBaseDns: [GROUPS],
    userAttributes: ['employeeNumber'],
    connectTimeoutMs: 2000,
    ...over,
  }) as never;

async function failure(p: Promise<unknown> | AsyncIterable<unknown>): Promise<SourceError> {
  try {
    if (Symbol.asyncIterator in (p as object)) for await (const _ of p as AsyncIterable<unknown>);
    else await p;
  } catch (err) {
    return err as SourceError;
  }
  throw new Error('expected a failure');
}

const configured = (name: string, over: Partial<ConfiguredStream> = {}): ConfiguredStream => ({ name, fields: [], primaryKey: ['id'], syncMode: 'full', ...over });
const ALL = ['users', 'groups', 'memberships'];
const read = (streams: ConfiguredStream[], ctx: Partial<ReadContext> = {}, cfg = config()) => collect(connector.read(cfg, { streams }, testReadContext(ctx)));

/** What the directory says, through ldapsearch as the admin. */
interface Truth {
  users: LdifEntry[];
  groups: LdifEntry[];
  idByDn: Map<string, { id: string; type: 'user' | 'group' }>;
  edges: string[];
}

async function truth(): Promise<Truth> {
  const users = await ldap.search(PEOPLE, '(objectClass=inetOrgPerson)', ['entryUUID', 'uid', 'mail', 'manager', 'modifyTimestamp', 'title']);
  const groups = await ldap.search(GROUPS, '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))', ['entryUUID', 'cn', 'member']);
  const idByDn = new Map<string, { id: string; type: 'user' | 'group' }>();
  for (const u of users) idByDn.set(normalizeDnForTest(u.dn), { id: u.entryUUID![0]!, type: 'user' });
  for (const g of groups) idByDn.set(normalizeDnForTest(g.dn), { id: g.entryUUID![0]!, type: 'group' });
  const edges: string[] = [];
  for (const g of groups) {
    for (const m of g.member ?? []) {
      const target = idByDn.get(normalizeDnForTest(m));
      if (target) edges.push(`${g.entryUUID![0]}:${target.type}:${target.id}`);
    }
  }
  return { users, groups, idByDn, edges: edges.sort() };
}

const ids = (messages: ReadMessage[], stream: string) => recordsOf(messages, stream).map((r) => String(r.id));
const sorted = (a: string[]) => [...a].sort();

beforeAll(async () => {
  ldap = await startSlapd();
  console.info(`slapd: certificates ${ldap.timings.certsMs} ms, LDIF ${ldap.timings.generateMs} ms, slapadd ${ldap.timings.slapaddMs} ms, start ${ldap.timings.startMs} ms (total ${ldap.timings.totalMs} ms)`);
  catalog = (await connector.discover(config(), testReadContext())).streams;
});

afterAll(async () => {
  await ldap?.stop();
});

describe('ldap check', () => {
  it('binds, reads the root DSE and finds an entry under each base', async () => {
    const details = await connector.check(config(), testReadContext());
    const [first] = await ldap.search(PEOPLE, '(objectClass=inetOrgPerson)', ['1.1'], { paged: false, as: ldap.reader });
    expect(details).toMatchObject({
      vendor: 'openldap',
      tls: 'none',
      pagedResults: true,
      namingContexts: [SUFFIX],
      bindDn: ldap.reader.dn,
      userBases: [{ dn: PEOPLE, sample: first!.dn }],
      groupBases: [{ dn: GROUPS, sample: expect.stringMatching(/,ou=groups,dc=example,dc=org$/) }],
    });
  });

  it('reports a wrong password as auth, without the password', async () => {
    const secret = 'Wr0ng-but-secret-pw-41a7';
    const err = await failure(connector.check(config({ bindPassword: secret }), testReadContext()));
    expect(err).toMatchObject({ kind: 'auth', source: 'ldap', detail: { ldapResult: 49 } });
    expect(err.message).not.toContain(secret);
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });

  it('reports a base DN that does not exist as config, naming it', async () => {
    const err = await failure(connector.check(config({ groupBaseDns: [`ou=nope,${SUFFIX}`] }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config', detail: { ldapResult: 32 } });
    expect(err.message).toContain(`ou=nope,${SUFFIX}`);
  });

  it('reports a base the account may not read as permission (insufficient access)', async () => {
    const err = await failure(connector.check(config({ bindDn: ldap.limited.dn, bindPassword: ldap.limited.password, userBaseDns: [RESTRICTED] }), testReadContext()));
    expect(err).toMatchObject({ kind: 'permission', detail: { ldapResult: 50 } });
  });

  it('reports a user base where the filter shows nothing as permission', async () => {
    const err = await failure(connector.check(config({ userFilter: '(uid=nobody-has-this)' }), testReadContext()));
    expect(err.kind).toBe('permission');
    expect(err.message).toContain('(uid=nobody-has-this)');
  });

  it('reports a closed port as unreachable', async () => {
    const err = await failure(connector.check(config({ urls: [`ldap://127.0.0.1:${await closedPort()}`] }), testReadContext()));
    expect(err.kind).toBe('unreachable');
  });

  it('falls over to the next URL when the first cannot be reached', async () => {
    const details = await connector.check(config({ urls: [`ldap://127.0.0.1:${await closedPort()}`, ldap.url] }), testReadContext());
    expect(details.server).toBe(ldap.url);
  });

  it('refuses the cloud metadata address before connecting', async () => {
    const asked: string[] = [];
    const guard = testReadContext().networkGuard;
    const ctx = testReadContext({ networkGuard: { assertAllowed: (h) => (asked.push(h), guard.assertAllowed(h)) } });
    const err = await failure(connector.check(config({ urls: ['ldap://169.254.169.254'] }), ctx));
    expect(err).toMatchObject({ kind: 'blocked', source: 'network' });
    expect(asked).toEqual(['169.254.169.254']);
    expect(connector.targets(config({ urls: ['ldaps://dc1.example.com:636', 'ldap://[::1]:389'] }))).toEqual(['dc1.example.com', '::1']);
  });

  it('rejects invalid configs without echoing them', async () => {
    expect(() => parseLdapConfig(config({ userFilter: '(&(uid=a)' }))).toThrow(/userFilter is not a valid LDAP filter/);
    expect(() => parseLdapConfig(config({ urls: ['http://ldap.example.org'] }))).toThrow(expect.objectContaining({ kind: 'config' }));
    const err = await failure(connector.check(config({ bindPassword: '' }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config', message: expect.stringContaining('unauthenticated bind') });
  });
});

describe('ldap TLS', () => {
  it('connects over LDAPS trusting the configured CA', async () => {
    const details = await connector.check(config({ urls: [ldap.ldapsUrl], tlsCaCertificate: ldap.caPem }), testReadContext());
    expect(details).toMatchObject({ tls: 'ldaps', vendor: 'openldap' });
  });

  it('upgrades with StartTLS trusting the configured CA, also by host name', async () => {
    const details = await connector.check(config({ urls: [ldap.url.replace('127.0.0.1', 'localhost')], startTls: true, tlsCaCertificate: ldap.caPem }), testReadContext());
    expect(details).toMatchObject({ tls: 'starttls' });
  });

  it('reports a certificate from another CA as tls, for LDAPS and StartTLS', async () => {
    const ldaps = await failure(connector.check(config({ urls: [ldap.ldapsUrl], tlsCaCertificate: ldap.otherCaPem }), testReadContext()));
    expect(ldaps.kind).toBe('tls');
    const startTls = await failure(connector.check(config({ startTls: true, tlsCaCertificate: ldap.otherCaPem }), testReadContext()));
    expect(startTls.kind).toBe('tls');
    // without a CA the system store does not know the test CA either
    expect((await failure(connector.check(config({ urls: [ldap.ldapsUrl] }), testReadContext()))).kind).toBe('tls');
  });

  it('reports ldaps:// against the plain port, and ldap:// against the LDAPS port, as tls', async () => {
    const ldapsOnPlain = await failure(connector.check(config({ urls: [ldap.url.replace('ldap:', 'ldaps:')], tlsCaCertificate: ldap.caPem }), testReadContext()));
    expect(ldapsOnPlain).toMatchObject({ kind: 'tls', message: expect.stringContaining('TLS handshake') });
    const plainOnLdaps = await failure(connector.check(config({ urls: [ldap.ldapsUrl.replace('ldaps:', 'ldap:')], operationTimeoutMs: 3000 }), testReadContext()));
    expect(plainOnLdaps).toMatchObject({ kind: 'tls', message: expect.stringContaining('expects TLS') });
  });

  it('reports a certificate for another name as tls', async () => {
    const err = await failure(connector.check(config({ urls: [ldap.ldapsUrl], tlsCaCertificate: ldap.caPem, tlsServerName: 'ldap.elsewhere.example' }), testReadContext()));
    expect(err.kind).toBe('tls');
  });
});

describe('ldap discover', () => {
  const stream = (name: string) => catalog.find((s) => s.name === name)!;

  it('returns the normalized users, groups and memberships streams', () => {
    expect(catalog.map((s) => s.name)).toEqual(['users', 'groups', 'memberships']);
    expect(stream('users').fields.slice(0, 12).map((f) => f.name)).toEqual(['id', 'email', 'username', 'display_name', 'given_name', 'family_name', 'status', 'department', 'title', 'manager_id', 'updated_at', 'attributes']);
    expect(stream('users')).toMatchObject({ primaryKey: ['id'], cursorCandidates: ['updated_at'], supportedSyncModes: ['full', 'incremental'] });
    expect(stream('memberships')).toMatchObject({ kind: 'relation', cursorCandidates: [], supportedSyncModes: ['full', 'incremental'] });
    expect(stream('memberships').fields.map((f) => f.name)).toEqual(['id', 'group_id', 'member_id', 'member_type']);
  });

  it('lists the attributes of inetOrgPerson from the subschema with their syntaxes', async () => {
    const [subschema] = await ldap.search('cn=Subschema', '(objectClass=subschema)', ['attributeTypes'], { scope: 'base', paged: false });
    const definition = (name: string) => subschema!.attributeTypes!.find((t) => new RegExp(`NAME (\\( )?'${name}'`, 'i').test(t))!;
    const extras = stream('users').fields.slice(12);
    expect(extras.length).toBeGreaterThan(20);
    for (const f of extras) {
      const def = definition(f.name);
      expect(def, f.name).toBeDefined();
      // multi-valued attributes are arrays, single-valued ones scalars
      expect(f.type === 'array', f.name).toBe(!def.includes('SINGLE-VALUE'));
    }
    const byName = new Map(extras.map((f) => [f.name, f]));
    expect(byName.get('employeeNumber')).toMatchObject({ type: 'string', sourceType: expect.stringContaining('1.3.6.1.4.1.1466.115.121.1.15') });
    expect(byName.get('telephoneNumber')).toMatchObject({ type: 'array', suggestedSensitivity: 'confidential' });
    // consumed by normalized fields, credentials and binaries are not offered
    for (const hidden of ['uid', 'mail', 'cn', 'userPassword', 'jpegPhoto', 'userCertificate']) expect(byName.has(hidden), hidden).toBe(false);
    expect(stream('groups').fields.map((f) => f.name)).toEqual(expect.arrayContaining(['id', 'name', 'description', 'owner', 'businessCategory']));
  });

  it('names a configured object class the schema does not have', async () => {
    const err = await failure(connector.discover(config({ userObjectClasses: ['inetOrgPerson', 'noSuchClass'] }), testReadContext()));
    expect(err).toMatchObject({ kind: 'config', message: expect.stringContaining('noSuchClass') });
  });
});

describe('ldap read', () => {
  it('reads every user, group and membership edge the directory has, exactly once', async () => {
    const t = await truth();
    const messages = await read(ALL.map((n) => configured(n)));
    expect(t.users.length).toBeGreaterThanOrEqual(2000);
    expect(t.groups.length).toBeGreaterThanOrEqual(200);
    expect(sorted(ids(messages, 'users'))).toEqual(sorted(t.users.map((u) => u.entryUUID![0]!)));
    expect(sorted(ids(messages, 'groups'))).toEqual(sorted(t.groups.map((g) => g.entryUUID![0]!)));
    expect(sorted(ids(messages, 'memberships'))).toEqual(t.edges);

    const users = new Map(recordsOf(messages, 'users').map((u) => [u.id, u]));
    for (const u of t.users) {
      const r = users.get(u.entryUUID![0]!)!;
      expect(r).toMatchObject({ username: u.uid![0], email: u.mail![0], status: 'active' });
      const manager = u.manager?.[0];
      expect(r.manager_id, u.dn).toBe(manager === undefined ? undefined : t.idByDn.get(normalizeDnForTest(manager))!.id);
    }
    const u151 = t.users.find((u) => u.uid![0] === 'user0151')!;
    expect(users.get(u151.entryUUID![0]!)).toMatchObject({
      display_name: 'User 151', // no displayName: cn
      given_name: 'Given151',
      family_name: 'Family151',
      department: expect.any(String),
      updated_at: new Date(Date.UTC(2024, 0, 1) + 151 * 60_000).toISOString(),
      attributes: { dn: u151.dn, employeeNumber: 'E00151' },
    });
    expect(recordsOf(messages, 'groups')[0]).toMatchObject({ name: expect.stringMatching(/^group\d+$/), description: expect.stringMatching(/^Group number/) });
    expect(messages.filter((m) => m.type === 'stream_status')).toHaveLength(6);
  });

  it('keeps all members of the group with more than 1,500 members', async () => {
    const t = await truth();
    const big = t.groups.find((g) => g.dn === ldap.fixture.groupDn(ldap.fixture.bigGroup.index))!;
    expect(big.member!.length).toBeGreaterThan(1500);
    const messages = await read([configured('memberships')]);
    const edges = recordsOf(messages, 'memberships').filter((e) => e.group_id === big.entryUUID![0]);
    expect(sorted(edges.map((e) => String(e.member_id)))).toEqual(sorted(big.member!.map((m) => t.idByDn.get(normalizeDnForTest(m))!.id)));
  });

  it('emits nested groups as group edges and survives a membership cycle', async () => {
    const t = await truth();
    const f = ldap.fixture;
    const gid = (i: number) => t.idByDn.get(normalizeDnForTest(f.groupDn(i)))!.id;
    const messages = await read([configured('memberships')]);
    const groupEdges = recordsOf(messages, 'memberships').filter((e) => e.member_type === 'group').map((e) => `${e.group_id}>${e.member_id}`);
    const [l1, l2, l3] = f.nestedChain;
    const [a, b] = f.cycle;
    expect(sorted(groupEdges)).toEqual(sorted([`${gid(l1)}>${gid(l2)}`, `${gid(l2)}>${gid(l3)}`, `${gid(a)}>${gid(b)}`, `${gid(b)}>${gid(a)}`]));
    // the DN that does not exist and the entry outside the user filter give no edges
    const odd = recordsOf(messages, 'memberships').filter((e) => e.group_id === gid(f.oddMembersGroup));
    expect(odd.map((e) => e.member_id)).toEqual([t.idByDn.get(normalizeDnForTest(f.userDn(30)))!.id]);
    expect(messages.some((m) => m.type === 'log' && /2 member DNs are not users or groups in scope/.test(m.message))).toBe(true);
  });

  it('pages with 100 entries per page and a 100-DN cache, returning everything exactly once', async () => {
    // this account gets 100 entries per search unless it pages: paging is what makes this work
    const unpaged = await failure(ldap.search(PEOPLE, '(objectClass=inetOrgPerson)', ['1.1'], { as: ldap.paged, paged: false }));
    expect(String((unpaged as unknown as { stderr: string }).stderr ?? unpaged)).toMatch(/Size limit exceeded/i);
    const t = await truth();
    const messages = await read(ALL.map((n) => configured(n)), {}, config({ bindDn: ldap.paged.dn, bindPassword: ldap.paged.password, pageSize: 100, dnCacheSize: 100 }));
    for (const [stream, expected] of [['users', t.users.map((u) => u.entryUUID![0]!)], ['groups', t.groups.map((g) => g.entryUUID![0]!)], ['memberships', t.edges]] as const) {
      const got = ids(messages, stream);
      expect(new Set(got).size, stream).toBe(got.length);
      expect(sorted(got), stream).toEqual(sorted([...expected]));
    }
  });

  it('publishes selected discovered attributes at the top level and in attributes, typed by the schema', async () => {
    const messages = await read([configured('users', { fields: ['id', 'email', 'telephoneNumber', 'employeeNumber'] })], {}, config({ userAttributes: [] }));
    const [phone] = await ldap.search(PEOPLE, '(uid=user0003)', ['entryUUID', 'telephoneNumber']);
    const r = recordsOf(messages, 'users').find((u) => u.id === phone!.entryUUID![0])!;
    expect(r.telephoneNumber).toEqual(phone!.telephoneNumber);
    expect(r.attributes).toMatchObject({ telephoneNumber: phone!.telephoneNumber, employeeNumber: 'E00003' });
    const single = recordsOf(messages, 'users').find((u) => u.username === 'user0001')!;
    // user0001 has no telephoneNumber (absent, not null); employeeNumber is single-valued: a scalar
    expect(single.telephoneNumber).toBeUndefined();
    expect(single.employeeNumber).toBe('E00001');
  });

  it('reads only what changed since the saved state: 3 users and one group with its members', async () => {
    const streams = ALL.map((n) => configured(n, { syncMode: 'incremental' }));
    const first = await read(streams);
    const state = Object.fromEntries(ALL.map((s) => [s, statesOf(first, s).at(-1)]));
    expect(state.users).toMatchObject({ vendor: 'openldap', attribute: 'modifyTimestamp', inclusive: false });

    const t = await truth();
    const f = ldap.fixture;
    const changed = [f.userDn(11), f.userDn(222), f.userDn(1999)];
    const group = f.groupDn(50);
    const groupEntry = t.groups.find((g) => g.dn === group)!;
    // user 222 leaves group 50 if it was in it, else joins; user 11 joins
    const in50 = groupEntry.member!.includes(changed[1]!);
    expect(groupEntry.member!.includes(changed[0]!)).toBe(false);
    await ldap.modify(
      changed.map((dn) => `dn: ${dn}\nchangetype: modify\nreplace: title\ntitle: Changed\n`).join('\n') +
        `\ndn: ${group}\nchangetype: modify\nadd: member\nmember: ${changed[0]}\n-\n${in50 ? 'delete' : 'add'}: member\nmember: ${changed[1]}\n`,
    );

    const second = await read(streams, { state });
    const uuid = (dn: string) => t.idByDn.get(normalizeDnForTest(dn))!.id;
    expect(sorted(ids(second, 'users'))).toEqual(sorted(changed.map(uuid)));
    expect(recordsOf(second, 'users').every((u) => u.title === 'Changed')).toBe(true);
    expect(ids(second, 'groups')).toEqual([uuid(group)]);
    const after = await truth();
    expect(sorted(ids(second, 'memberships'))).toEqual(after.edges.filter((e) => e.startsWith(`${uuid(group)}:`)));
    expect(ids(second, 'memberships')).toContain(`${uuid(group)}:user:${uuid(changed[0]!)}`);
    expect(second.filter((m) => m.type === 'scope_complete')).toEqual([{ type: 'scope_complete', stream: 'memberships', scope: { group_id: uuid(group) } }]);

    // the changes are recent: the next read starts from the read start less the clock skew allowance
    const nextState = Object.fromEntries(ALL.map((s) => [s, statesOf(second, s).at(-1)]));
    expect(nextState.users).toMatchObject({ inclusive: true });
    const third = await read(streams, { state: nextState });
    expect(sorted(ids(third, 'users'))).toEqual(sorted(changed.map(uuid)));
    expect(ids(third, 'groups')).toEqual([uuid(group)]);
  });

  it('re-reads just the hinted users and groups, deleting ids that no longer exist', async () => {
    const t = await truth();
    const user = t.users.find((u) => u.uid![0] === 'user0005')!;
    const group = t.groups.find((g) => g.dn === ldap.fixture.groupDn(ldap.fixture.cycle[0]))!;
    const gone = '0d6f1e2a-0000-4000-8000-000000000000';
    const hints = [
      { stream: 'users', keys: [{ id: user.entryUUID![0] }, { id: gone }] },
      { stream: 'groups', keys: [{ id: group.entryUUID![0] }] },
      { stream: 'memberships', keys: [{ group_id: group.entryUUID![0] }] },
    ];
    const messages = await read(ALL.map((n) => configured(n)), { hints });
    expect(ids(messages, 'users')).toEqual([user.entryUUID![0]]);
    expect(ids(messages, 'groups')).toEqual([group.entryUUID![0]]);
    expect(messages.filter((m) => m.type === 'delete')).toEqual([{ type: 'delete', stream: 'users', key: { id: gone } }]);
    expect(sorted(ids(messages, 'memberships'))).toEqual(t.edges.filter((e) => e.startsWith(`${group.entryUUID![0]}:`)));
    expect(recordsOf(messages, 'memberships').length).toBe(2);
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    let records = 0;
    const err = await failure(
      (async () => {
        for await (const m of connector.read(config(), { streams: [configured('users')] }, testReadContext({ signal: ac.signal }))) {
          if (m.type === 'record' && ++records === 10) ac.abort();
        }
      })(),
    );
    expect(err.kind).toBe('cancelled');
    expect(records).toBe(10);
  });

  it('reports a wrong password on read as auth without the password', async () => {
    const secret = 'Another-wrong-pw-93b1';
    const err = await failure(connector.read(config({ bindPassword: secret }), { streams: [configured('users')] }, testReadContext()));
    expect(err.kind).toBe('auth');
    expect(inspect(err, { depth: 10 })).not.toContain(secret);
  });
});
