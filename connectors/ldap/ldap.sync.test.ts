/**
 * The LDAP connector through the whole service (real PostgreSQL, the sync worker) against a
 * private slapd: create an `ldap` connection with the API, test it, discover, map users, groups
 * and memberships, trigger a sync and find every user, group and membership edge the directory
 * has (per ldapsearch) in the records table; then an incremental sync picks up a change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { directoryFixture, GROUPS, normalizeDnForTest, PEOPLE, startSlapd, type SlapdServer } from '../../test/helpers/slapd.ts';
import { syncAndWait } from '../../test/helpers/sync.ts';
import { tenantKey } from '../../test/helpers/opal.ts';

describe('ldap connection through the API', () => {
  let t: TestApp;
  let ldap: SlapdServer;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });

  beforeAll(async () => {
    [ldap, t] = await Promise.all([startSlapd(), startTestApp('postgres', {}, { worker: true })]);
  });
  afterAll(async () => {
    await t?.close();
    await ldap?.stop();
  });

  it('creates, tests, discovers, maps and syncs users, groups and memberships into the records table', async () => {
    const config = {
      urls: [ldap.ldapsUrl],
      tlsCaCertificate: ldap.caPem,
      bindDn: ldap.reader.dn,
      bindPassword: ldap.reader.password,
      userBaseDns: [PEOPLE],
      groupBaseDns: [GROUPS],
      userAttributes: ['employeeNumber'],
      pageSize: 250,
    };
    const created = await api('POST', '/pip/connections', { name: 'directory', type: 'ldap', config });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(ldap.reader.password);
    const id = created.json().id as string;

    const test = await api('POST', `/pip/connections/${id}/test`);
    expect(test.json(), test.body).toMatchObject({ ok: true, error: null });

    const discovered = await api('POST', `/pip/connections/${id}/discover`);
    expect(discovered.statusCode, discovered.body).toBe(200);
    expect(discovered.json().streams.map((s: { name: string }) => s.name)).toEqual(['users', 'groups', 'memberships']);

    const mapped = await api('PUT', `/pip/connections/${id}/streams`, {
      streams: [
        { name: 'users', sync_mode: 'incremental', cursor_field: 'updated_at' },
        { name: 'groups', sync_mode: 'incremental', cursor_field: 'updated_at' },
        { name: 'memberships', sync_mode: 'incremental' },
      ],
    });
    expect(mapped.statusCode, mapped.body).toBe(200);

    const job = await syncAndWait(t, id);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'succeeded' });

    const users = await ldap.search(PEOPLE, '(objectClass=inetOrgPerson)', ['entryUUID', 'mail', 'employeeNumber']);
    const groups = await ldap.search(GROUPS, '(objectClass=groupOfNames)', ['entryUUID', 'member']);
    const idByDn = new Map([...users, ...groups].map((e) => [normalizeDnForTest(e.dn), e.entryUUID![0]!]));
    const userDns = new Set(users.map((u) => normalizeDnForTest(u.dn)));
    const edges = groups.flatMap((g) =>
      (g.member ?? []).flatMap((m) => {
        const target = idByDn.get(normalizeDnForTest(m));
        return target ? [`${g.entryUUID![0]}:${userDns.has(normalizeDnForTest(m)) ? 'user' : 'group'}:${target}`] : [];
      }),
    );

    const stored = async (stream: string) =>
      (await t.db.knex('records').where({ connection_id: id, stream }).select('record_key', 'data')) as Array<{ record_key: string; data: Record<string, any> }>;
    const storedUsers = await stored('users');
    expect(storedUsers.map((r) => r.record_key).sort()).toEqual(users.map((u) => u.entryUUID![0]!).sort());
    expect((await stored('groups')).map((r) => r.record_key).sort()).toEqual(groups.map((g) => g.entryUUID![0]!).sort());
    expect((await stored('memberships')).map((r) => r.record_key).sort()).toEqual(edges.sort());
    expect(storedUsers.length).toBeGreaterThanOrEqual(2000);
    expect(edges.length).toBeGreaterThan(5000);

    const someone = users.find((u) => u.dn.startsWith('uid=user0042,'))!;
    const record = storedUsers.find((r) => r.record_key === someone.entryUUID![0])!.data;
    expect(record).toMatchObject({ id: someone.entryUUID![0], email: someone.mail![0], employeeNumber: someone.employeeNumber![0], attributes: { dn: someone.dn, employeeNumber: 'E00042' } });
    expect(JSON.stringify(record)).not.toMatch(/userPassword|user-pw-/);

    // an incremental sync picks up just the change
    await ldap.modify(`dn: ${someone.dn}\nchangetype: modify\nreplace: mail\nmail: renamed@example.org\n`);
    const second = await syncAndWait(t, id);
    expect(second, JSON.stringify(second)).toMatchObject({ status: 'succeeded', counters: { read: 1, upserted: 1 } });
    expect((await stored('users')).find((r) => r.record_key === someone.entryUUID![0])!.data.email).toBe('renamed@example.org');
    expect(await stored('users')).toHaveLength(storedUsers.length);
  });
  it('publishes the directory to OPA: transitive groups of a nested-group member, and the 1,600-member group', async () => {
    const fixture = directoryFixture();
    const key = await tenantKey(t, 'default', 'opal');
    const fetch = async (path: string) => {
      const r = await t.app.inject({ method: 'GET', url: `/opal/pip-data/default/${path}`, headers: { authorization: `Bearer ${key}` } });
      expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
      expect(r.headers['content-type']).toContain('application/json');
      return r.json();
    };
    const users = await fetch('users');
    const groups = await fetch('groups');
    const name = (i: number) => /^cn=([^,]+),/.exec(fixture.groupDn(i))![1]!;

    // user 11 is a direct member of the innermost group of a three-level chain
    const [l1, l2, l3] = fixture.nestedChain;
    const [nested] = await ldap.search(PEOPLE, '(uid=user0011)', ['mail']);
    const nestedUser = users[nested!.mail![0]!.toLowerCase()];
    expect(nestedUser, 'user0011 in data.pip.default.users').toBeDefined();
    expect(nestedUser.groups).toEqual(expect.arrayContaining([name(l1), name(l2), name(l3)]));
    expect(groups[name(l1)].member_groups).toEqual([name(l2)]);
    expect(groups[name(l3)].members).toContain(nested!.mail![0]!.toLowerCase());

    // the cycle A → B → A does not break the document: both groups reach each other's members
    const [a, b] = fixture.cycle;
    const [inA] = await ldap.search(PEOPLE, '(uid=user0020)', ['mail']);
    expect(users[inA!.mail![0]!.toLowerCase()].groups).toEqual(expect.arrayContaining([name(a), name(b)]));

    // the group of more than 1,500 members (read with paging) lists every one of them
    const big = groups[name(fixture.bigGroup.index)];
    expect(big.members).toHaveLength(fixture.bigGroup.members);
    expect(new Set(big.members).size).toBe(fixture.bigGroup.members);
    expect(Object.keys(users).length).toBeGreaterThanOrEqual(2000);
  });
});
