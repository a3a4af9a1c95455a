import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeHints, withoutReread } from './webhooks.service.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createFakeSource } from '../../test/fakes/fake-source.ts';
import { ConnectorRegistry } from '../registry/registry.ts';
import type { ConnectorDefinition, WebhookOutcome, WebhookRequest } from '../../connectors/sdk/types.ts';

describe('webhook hints', () => {
  it('merges events per stream with each key once; a keyless hint (a normal read) covers the stream', () => {
    expect(
      mergeHints([
        [{ stream: 'users', keys: [{ id: 'a' }] }],
        [{ stream: 'users', keys: [{ id: 'a' }, { id: 'b' }] }, { stream: 'groups', keys: [{ id: 'g' }] }],
        [{ stream: 'groups', keys: [] }],
        [{ stream: 'groups', keys: [{ id: 'h' }] }],
      ]),
    ).toEqual([
      { stream: 'users', keys: [{ id: 'a' }, { id: 'b' }] },
      { stream: 'groups', keys: [] },
    ]);
  });

  it('a key re-read by the same delivery is not also deleted (the read decides); keyless reads keep deletes', () => {
    const hints = [{ stream: 'users', keys: [{ id: 'a' }] }, { stream: 'groups', keys: [] }];
    const deletes = [{ stream: 'users', keys: [{ id: 'a' }, { id: 'b' }] }, { stream: 'groups', keys: [{ id: 'g' }] }];
    expect(withoutReread(deletes, hints)).toEqual([{ stream: 'users', keys: [{ id: 'b' }] }, { stream: 'groups', keys: [{ id: 'g' }] }]);
  });
});

describe('webhook pipeline with a scripted connector', () => {
  let t: TestApp;
  let id: string;
  const renewals: string[] = [];
  const seen: WebhookRequest[] = [];
  let next: WebhookOutcome = { kind: 'events', events: [] };
  const post = (payload: string, contentType = 'application/json') => t.app.inject({ method: 'POST', url: `/pip/webhooks/hooked/${id}`, headers: { 'content-type': contentType }, payload });

  beforeAll(async () => {
    const fake = createFakeSource('hooked');
    fake.tables.set('people', [{ id: 1, name: 'a', updated_at: '2026-01-01T00:00:00Z' }]);
    const hooked: ConnectorDefinition<any> = {
      ...fake.definition,
      webhooks: {
        async handle(_config, req) {
          seen.push(req);
          return next;
        },
      },
    };
    t = await startTestApp('embedded', {}, { registry: new ConnectorRegistry([hooked]) });
    t.services.webhooks.onRenewalRequested(async (_tenant, connectionId) => void renewals.push(connectionId));
    const c = await t.app.inject({ method: 'POST', url: '/pip/connections', headers: t.auth(), payload: { name: 'hooked', type: 'hooked', config: { host: 'localhost', token: 'tok' } } });
    id = c.json().id;
    await t.app.inject({ method: 'POST', url: `/pip/connections/${id}/discover`, headers: t.auth() });
    await t.app.inject({ method: 'PUT', url: `/pip/connections/${id}/streams`, headers: t.auth(), payload: { streams: [{ name: 'people', sync_mode: 'incremental' }] } });
  });
  afterAll(async () => t?.close());

  it('hands the connector the raw body bytes and the parsed JSON', async () => {
    const body = '{ "a" : 1,\n "b": [2] }';
    await post(body);
    const req = seen.at(-1)!;
    expect(req.rawBody.toString('utf8')).toBe(body);
    expect(req.body).toEqual({ a: 1, b: [2] });
    await post('a=1', 'application/x-www-form-urlencoded');
    expect(seen.at(-1)!.rawBody.toString()).toBe('a=1');
    expect(seen.at(-1)!.body).toBeUndefined();
  });

  it('queues a keyless hint as a normal read of the stream, and asks for a subscription renewal when an event says so', async () => {
    next = { kind: 'events', events: [{ id: 'life-1', type: 'missed', hints: [{ stream: 'people', keys: [] }], renewSubscription: true }] };
    const r = await post('{}');
    expect(r.statusCode).toBe(200);
    expect(renewals).toEqual([id]);
    const job = await t.db.withSystem((trx) => trx('sync_jobs').where({ id: r.json().job_id }).first());
    expect(job).toMatchObject({ trigger: 'webhook', mode: 'targeted', options: { hints: [{ stream: 'people', keys: [] }], deletes: [] } });

    // a renewal-only event (no hints) still asks, and queues nothing
    next = { kind: 'events', events: [{ id: 'life-2', type: 'reauthorizationRequired', hints: [], renewSubscription: true }] };
    const only = await post('{}');
    expect(only.json()).toEqual({ accepted: 1, duplicates: 0, job_id: null });
    expect(renewals).toEqual([id, id]);
  });
});
