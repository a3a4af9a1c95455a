import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../test/helpers/env.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createFakeSource, type FakeSourceConfig } from '../../test/fakes/fake-source.ts';
import { ConnectorRegistry } from '../registry/registry.ts';
import { SourceError } from '../../connectors/sdk/errors.ts';
import type { SubscriptionState } from '../../connectors/sdk/types.ts';
import { SubscriptionsService } from './subscriptions.service.ts';

/** a connector whose provider subscriptions live in memory: what the service asked for, in order */
function subscribingSource() {
  const source = createFakeSource('subfake');
  const calls: Array<{ verb: 'ensure' | 'remove'; connection: string; current?: SubscriptionState; token: string }> = [];
  const control = { fail: false, lifetimeMs: 3_600_000 };
  source.definition.subscriptions = {
    enabled: (config: FakeSourceConfig) => config.dataset !== 'off',
    async ensure(config, _ctx, { callbackUrl, current }) {
      const connection = callbackUrl.split('/').at(-1)!;
      calls.push({ verb: 'ensure', connection, current, token: config.token });
      if (control.fail) throw new SourceError('subfake', 'POST /subscriptions answered 503', { kind: 'transient' });
      return { expiresAt: new Date(Date.now() + control.lifetimeMs).toISOString(), data: { n: calls.length, callbackUrl } };
    },
    renewBefore: (state) => new Date(Date.parse(state.expiresAt) - 600_000),
    async remove(config, _ctx, state) {
      calls.push({ verb: 'remove', connection: String(state.data.callbackUrl).split('/').at(-1)!, current: state, token: config.token });
    },
  };
  return { source, calls, control };
}

describe.each(BACKENDS)('provider subscriptions service on %s', (backend) => {
  let t: TestApp;
  const { source, calls, control } = subscribingSource();
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
  const create = async (name: string, dataset = 'main') => (await api('POST', '/pip/connections', { name, type: 'subfake', config: { host: 'localhost', dataset, token: `tok-${name}` } })).json().id as string;
  const row = (id: string) => t.db.knex('connection_subscriptions').where({ connection_id: id }).first();

  beforeAll(async () => {
    t = await startTestApp(backend, { PIP_PUBLIC_URL: 'https://pip.example.com/' }, { registry: new ConnectorRegistry([source.definition]) });
  });
  afterAll(async () => t?.close());

  it('ensures subscriptions of enabled, active connections with their secrets and the webhook URL; nothing before they are due', async () => {
    const on = await create('on');
    const off = await create('off', 'off');
    const result = await t.services.subscriptions.pass();
    expect(result).toMatchObject({ ensured: 1, failed: 0 });
    expect(calls).toEqual([{ verb: 'ensure', connection: on, current: undefined, token: 'tok-on' }]);
    const r = await row(on);
    expect(r).toMatchObject({ status: 'active', callback_url: `https://pip.example.com/pip/webhooks/subfake/${on}`, failures: 0 });
    expect(new Date(r.renew_at).getTime()).toBe(Date.parse(r.state.expiresAt) - 600_000);
    expect(await row(off)).toBeUndefined();
    expect(await t.services.subscriptions.pass()).toEqual({ ensured: 0, removed: 0, failed: 0 });
    expect(calls).toHaveLength(1);
    const view = (await api('GET', `/pip/connections/${on}/subscription`)).json();
    expect(view).toMatchObject({ status: 'active', callback_url: `https://pip.example.com/pip/webhooks/subfake/${on}`, last_error: null });
    expect((await api('GET', `/pip/connections/${off}/subscription`)).statusCode).toBe(404);
  });

  it('renews with the current state when due or asked to; a renewal request through the API runs at once', async () => {
    const id = await create('renew');
    await t.services.subscriptions.pass();
    const first = (await row(id)).state;
    calls.length = 0;
    const renewed = await api('POST', `/pip/connections/${id}/subscription/renew`);
    expect(renewed.statusCode, renewed.body).toBe(200);
    expect(calls).toEqual([{ verb: 'ensure', connection: id, current: first, token: 'tok-renew' }]);
    expect((await row(id)).state).not.toEqual(first);
  });

  it('records a failure, keeps the state and retries later with backoff', async () => {
    const id = await create('flaky');
    await t.services.subscriptions.pass();
    const state = (await row(id)).state;
    control.fail = true;
    try {
      await t.services.subscriptions.requestRenewal((await t.db.knex('connections').where({ id }).first()).tenant_id, id);
      const before = Date.now();
      expect((await t.services.subscriptions.pass()).failed).toBe(1);
      const r = await row(id);
      expect(r).toMatchObject({ failures: 1, last_error: { code: 'PIP_SOURCE_TRANSIENT', message: expect.stringContaining('503') }, state });
      expect(new Date(r.renew_at).getTime()).toBeGreaterThanOrEqual(before + 29_000);
      expect((await api('GET', `/pip/connections/${id}/subscription`)).json()).toMatchObject({ failures: 1 });
    } finally {
      control.fail = false;
    }
  });

  it('removes the subscription of a connection that is paused or no longer wants one', async () => {
    const paused = await create('paused');
    const disabled = await create('disabled');
    await t.services.subscriptions.pass();
    expect(await api('PUT', `/pip/connections/${paused}`, { status: 'paused' })).toMatchObject({ statusCode: 200 });
    expect(await api('PUT', `/pip/connections/${disabled}`, { config: { host: 'localhost', dataset: 'off' } })).toMatchObject({ statusCode: 200 });
    for (const id of [paused, disabled]) await t.services.subscriptions.requestRenewal((await t.db.knex('connections').where({ id }).first()).tenant_id, id);
    calls.length = 0;
    expect((await t.services.subscriptions.pass()).removed).toBe(2);
    expect(calls.map((c) => [c.verb, c.connection]).sort()).toEqual([['remove', disabled], ['remove', paused]].sort());
    expect(await row(paused)).toBeUndefined();
    expect(await row(disabled)).toBeUndefined();
  });

  it('connections that want no subscription never crowd out those that do', async () => {
    for (const n of [1, 2, 3]) await create(`quiet-${n}`, 'off');
    const wanted = await create('wanted');
    const small = new SubscriptionsService(t.db, t.services.registry, t.services.connections, t.services.runtime, { publicUrl: t.config.publicUrl, batchSize: 1 }, pino({ level: 'silent' }));
    calls.length = 0;
    expect(await small.pass()).toMatchObject({ ensured: 1 });
    expect(calls.map((c) => c.connection)).toEqual([wanted]);
  });

  it('two workers never ensure the same connection twice', async () => {
    const id = await create('contended');
    const other = new SubscriptionsService(t.db, t.services.registry, t.services.connections, t.services.runtime, { publicUrl: t.config.publicUrl }, pino({ level: 'silent' }));
    calls.length = 0;
    await Promise.all([t.services.subscriptions.pass(), other.pass()]);
    expect(calls.filter((c) => c.connection === id)).toHaveLength(1);
  });
});
