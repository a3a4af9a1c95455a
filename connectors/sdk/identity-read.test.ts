import { describe, expect, it } from 'vitest';
import { collect } from '../../test/fakes/connector-context.ts';
import { readIdentityStreams, withAttributes, type IdentityPass } from './identity-read.ts';
import { secretsEqual } from './webhook-verify.ts';
import type { ConfiguredCatalog, ReadHint, ReadMessage } from './types.ts';

const catalog: ConfiguredCatalog = {
  streams: [
    { name: 'users', fields: [], primaryKey: ['id'], syncMode: 'full' },
    { name: 'groups', fields: [], primaryKey: ['id'], syncMode: 'incremental' },
    { name: 'memberships', fields: [], primaryKey: ['id'], syncMode: 'full' },
  ],
};

function plan(hints?: ReadHint[]) {
  const ran: string[] = [];
  const pass = (name: string, streams: string[]): IdentityPass => ({
    streams,
    async *read(served) {
      ran.push(`${name}(${served.map((s) => s.name).join(',')})`);
      for (const s of served) yield { type: 'record', stream: s.name, data: { id: `${s.name}-1` } } as ReadMessage;
    },
  });
  const messages = collect(
    readIdentityStreams({
      source: 'test',
      catalog,
      ctx: { hints, signal: new AbortController().signal },
      passes: [pass('usersPass', ['users']), pass('groupsPass', ['groups', 'memberships']), pass('unused', ['users'])],
      targeted: {
        async *users(keys) {
          ran.push(`targeted(${keys.map((k) => k.id).join(',')})`);
        },
      },
    }),
  );
  return { ran, messages };
}

describe('readIdentityStreams', () => {
  it('reads every configured stream once, by the first pass serving it, between started and complete', async () => {
    const { ran, messages } = plan();
    const out = await messages;
    expect(ran).toEqual(['usersPass(users)', 'groupsPass(groups,memberships)']);
    expect(out.filter((m) => m.type === 'stream_status').map((m) => m.type === 'stream_status' && `${m.stream}:${m.status}`)).toEqual(['users:started', 'users:complete', 'groups:started', 'memberships:started', 'groups:complete', 'memberships:complete']);
    expect(out.some((m) => m.type === 'scope_complete')).toBe(false);
  });

  it('with hints: keys go to the targeted reader, a keyless hint runs the pass, and a full stream read that way is scoped whole', async () => {
    const { ran, messages } = plan([
      { stream: 'users', keys: [{ id: 'u1' }, { id: 'u2' }] },
      { stream: 'memberships', keys: [{ group_id: 'g1' }] },
      { stream: 'groups', keys: [] },
      { stream: 'roles', keys: [] },
    ]);
    const out = await messages;
    expect(ran).toEqual(['groupsPass(groups,memberships)', 'targeted(u1,u2)']);
    // memberships has no targeted reader here: read whole, and as a full stream its scope is all of it
    expect(out.filter((m) => m.type === 'scope_complete')).toEqual([{ type: 'scope_complete', stream: 'memberships', scope: {} }]);
  });
});

describe('withAttributes', () => {
  it('keeps selected provider fields at the top level and under attributes, without nulls', () => {
    const selected = (f: string) => ['id', 'email', 'attributes', 'costCenter', 'title'].includes(f);
    expect(withAttributes({ id: '1', email: 'a@x.io', display_name: undefined, title: 'CTO' }, { costCenter: 'C7', secretNote: 'x', empty: null, title: 'ignored' }, selected)).toEqual({
      id: '1',
      email: 'a@x.io',
      title: 'CTO',
      costCenter: 'C7',
      attributes: { costCenter: 'C7' },
    });
    expect(withAttributes({ id: '1' }, { costCenter: 'C7' }, (f) => f === 'id')).toEqual({ id: '1' });
  });
});

describe('secretsEqual', () => {
  it('matches only the exact secret, and never an unset one', () => {
    expect(secretsEqual('s3cret-value', 's3cret-value')).toBe(true);
    expect(secretsEqual('s3cret-valuf', 's3cret-value')).toBe(false);
    expect(secretsEqual('s3cret', 's3cret-value')).toBe(false);
    expect(secretsEqual(undefined, 's3cret-value')).toBe(false);
    expect(secretsEqual('', '')).toBe(false);
    expect(secretsEqual('x', undefined)).toBe(false);
  });
});
