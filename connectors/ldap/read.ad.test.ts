/**
 * The reader against the recorded-shape Active Directory fake: objectGUID ids end to end,
 * disabled accounts, managers, a 3,200-member group through range retrieval, nested groups,
 * bounded DN resolution by batched (distinguishedName=…) lookups, uSNChanged incremental reads
 * and targeted reads by GUID.
 */
import { describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testReadContext } from '../../test/fakes/connector-context.ts';
import { FakeActiveDirectory, type FakeAdObject } from '../../test/fakes/active-directory.ts';
import type { ConfiguredStream, ReadContext, ReadMessage } from '../sdk/types.ts';
import { LdapReader } from './read.ts';
import { guidToString } from './vendors.ts';

const stream = (name: string, syncMode: 'full' | 'incremental' = 'full'): ConfiguredStream => ({ name, fields: [], primaryKey: ['id'], syncMode });

function directory() {
  const ad = new FakeActiveDirectory();
  const boss = ad.addUser('Boss', { mail: 'boss@corp.example.com', department: 'Board', title: 'CEO' });
  const staff = Array.from({ length: 3199 }, (_, i) => ad.addUser(`Staff ${i}`, { manager: boss.dn, mail: `staff${i}@corp.example.com` }));
  const disabled = ad.addUser('Gone', { userAccountControl: '514' });
  const everyone = [boss, ...staff];
  const inner = ad.addGroup('Inner', [disabled.dn]);
  const big = ad.addGroup('Everyone', [...everyone.map((u) => u.dn), inner.dn]);
  const outside = ad.addGroup('Distribution', [boss.dn, 'CN=Contact,OU=Elsewhere,DC=other,DC=com'], { groupType: '2' });
  return { ad, boss, staff, disabled, inner, big, outside, everyone };
}

const id = (o: FakeAdObject) => guidToString(o.guid);

async function read(ad: FakeActiveDirectory, streams: ConfiguredStream[], ctx: Partial<ReadContext> = {}, config = {}): Promise<{ messages: ReadMessage[]; reader: LdapReader }> {
  const reader = new LdapReader(ad.session(config), testReadContext(ctx));
  return { messages: await collect(reader.read({ streams })), reader };
}

describe('Active Directory through the reader', () => {
  it('emits users with GUID ids, sAMAccountName, disabled status and resolved managers', async () => {
    const { ad, boss, staff, disabled } = directory();
    const { messages } = await read(ad, [stream('users')]);
    const users = recordsOf(messages, 'users');
    expect(users).toHaveLength(3201);
    const byId = new Map(users.map((u) => [u.id, u]));
    expect(byId.get(id(boss))).toMatchObject({ username: 'boss', email: 'boss@corp.example.com', department: 'Board', title: 'CEO', status: 'active', updated_at: '2024-03-15T10:11:12.000Z' });
    expect(byId.get(id(staff[42]!))).toMatchObject({ manager_id: id(boss), display_name: 'Staff 42' });
    expect(byId.get(id(disabled))).toMatchObject({ status: 'suspended' });
    expect(byId.get(id(boss))!.attributes).toEqual({ dn: boss.dn });
  });

  it('emits every member of a 3,200-member group through range retrieval, and nested groups as group edges', async () => {
    const { ad, big, inner, everyone, disabled, outside, boss } = directory();
    const { messages, reader } = await read(ad, [stream('users'), stream('groups'), stream('memberships')]);
    const edges = recordsOf(messages, 'memberships');
    const ofBig = edges.filter((e) => e.group_id === id(big));
    expect(ofBig.filter((e) => e.member_type === 'user').map((e) => e.member_id).sort()).toEqual(everyone.map(id).sort());
    expect(ofBig.filter((e) => e.member_type === 'group')).toEqual([{ id: `${id(big)}:group:${id(inner)}`, group_id: id(big), member_id: id(inner), member_type: 'group' }]);
    expect(edges.filter((e) => e.group_id === id(inner)).map((e) => e.member_id)).toEqual([id(disabled)]);
    // the contact outside the configured bases is no user we emit: no edge points at it
    expect(edges.filter((e) => e.group_id === id(outside)).map((e) => e.member_id)).toEqual([id(boss)]);
    expect(edges).toHaveLength(3200 + 1 + 1 + 1);
    expect(ad.calls.filter((c) => c.op === 'read').map((c) => c.attributes![0])).toEqual(['member;range=1500-*', 'member;range=3000-*']);
    expect(recordsOf(messages, 'groups').map((g) => [g.name, g.kind]).sort()).toEqual([['Distribution', 'distribution'], ['Everyone', 'security'], ['Inner', 'security']]);
    // every DN was seen by the scans, and the one outside every base resolves to nothing without a query
    expect(reader.resolverStats.lookups).toBe(0);
  });

  it('resolves member DNs in batched distinguishedName lookups with a small bounded cache', async () => {
    const { ad, big } = directory();
    const { messages, reader } = await read(ad, [stream('memberships')], {}, { dnCacheSize: 200 });
    expect(recordsOf(messages, 'memberships').filter((e) => e.group_id === id(big))).toHaveLength(3201);
    const lookups = ad.calls.filter((c) => c.op === 'search' && c.filter?.includes('distinguishedName='));
    expect(lookups.length).toBeGreaterThan(0);
    // at most 100 DNs per query, so 3,203 member DNs take a few dozen queries, not thousands
    for (const l of lookups) expect((l.filter!.match(/\(distinguishedName=/g) ?? []).length).toBeLessThanOrEqual(100);
    expect(lookups.length).toBeLessThan(80);
    expect(reader.resolverStats.cached).toBeLessThanOrEqual(200);
  });

  it('reads incrementally from the highestCommittedUSN taken before the read', async () => {
    const { ad, staff, big } = directory();
    const all = [stream('users', 'incremental'), stream('groups', 'incremental'), stream('memberships', 'incremental')];
    const first = await read(ad, all);
    const mark = String(ad.highestCommittedUSN);
    const state = Object.fromEntries(['users', 'groups', 'memberships'].map((s) => [s, statesOf(first.messages, s).at(-1)]));
    expect(state.users).toEqual({ vendor: 'active_directory', attribute: 'uSNChanged', since: mark, inclusive: false, server: ad.dnsHostName });

    ad.touch(staff[7]!, { title: 'Promoted' });
    const members = big.attrs.member as string[];
    ad.touch(big, { member: members.filter((m) => m !== staff[9]!.dn) });
    const second = await read(ad, all, { state });
    expect(recordsOf(second.messages, 'users').map((u) => [u.id, u.title])).toEqual([[id(staff[7]!), 'Promoted']]);
    expect(recordsOf(second.messages, 'groups').map((g) => g.id)).toEqual([id(big)]);
    const edges = recordsOf(second.messages, 'memberships');
    expect(edges).toHaveLength(3200);
    expect(edges.some((e) => e.member_id === id(staff[9]!))).toBe(false);
    expect(second.messages.filter((m) => m.type === 'scope_complete')).toEqual([{ type: 'scope_complete', stream: 'memberships', scope: { group_id: id(big) } }]);

    const third = await read(ad, all, { state: Object.fromEntries(['users', 'groups', 'memberships'].map((s) => [s, statesOf(second.messages, s).at(-1)])) });
    expect(recordsOf(third.messages)).toEqual([]);
  });

  it('starts over when the saved USN belongs to another domain controller', async () => {
    const { ad } = directory();
    const state = { users: { vendor: 'active_directory', attribute: 'uSNChanged', since: String(ad.highestCommittedUSN), inclusive: false, server: 'dc9.corp.example.com' } };
    const { messages } = await read(ad, [stream('users', 'incremental')], { state });
    expect(recordsOf(messages, 'users')).toHaveLength(3201);
    expect(messages.some((m) => m.type === 'log' && m.message.includes('another server'))).toBe(true);
  });

  it('re-reads users and group members by GUID, deleting what is gone', async () => {
    const { ad, boss, inner, disabled } = directory();
    const missing = '00000000-1111-2222-3333-444444444444';
    const hints = [
      { stream: 'users', keys: [{ id: id(boss) }, { id: missing }] },
      { stream: 'memberships', keys: [{ group_id: id(inner) }, { group_id: missing }] },
    ];
    const { messages } = await read(ad, [stream('users'), stream('memberships')], { hints });
    expect(recordsOf(messages, 'users').map((u) => u.id)).toEqual([id(boss)]);
    expect(messages.filter((m) => m.type === 'delete')).toEqual([{ type: 'delete', stream: 'users', key: { id: missing } }]);
    expect(recordsOf(messages, 'memberships').map((e) => e.member_id)).toEqual([id(disabled)]);
    expect(messages.filter((m) => m.type === 'scope_complete').map((m) => (m as { scope: unknown }).scope)).toEqual([{ group_id: id(inner) }, { group_id: missing }]);
    // targeted reads never scan
    expect(ad.calls.filter((c) => c.op === 'pages')).toEqual([]);
  });

  it('re-reads a whole stream for a hint without keys, and lets the sync delete what it did not see', async () => {
    const { ad } = directory();
    const { messages } = await read(ad, [stream('groups'), stream('users')], { hints: [{ stream: 'groups', keys: [] }] });
    expect(recordsOf(messages, 'groups')).toHaveLength(3);
    expect(recordsOf(messages, 'users')).toEqual([]);
    expect(messages.filter((m) => m.type === 'scope_complete')).toEqual([{ type: 'scope_complete', stream: 'groups', scope: {} }]);
  });
});
