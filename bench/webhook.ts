/**
 * bench/webhook: webhook-to-new-revision latency. The whole service listens on 127.0.0.1 with an
 * in-process sync worker; the fake Okta changes a user and POSTs a signed Event Hook delivery; the
 * clock stops when the revision event for that change is emitted (records committed). Deliveries
 * are sent one after another, so each figure is the latency of one webhook, not a queue backlog.
 * Also prints how long the webhook POST itself took to answer.
 *
 *   node --import tsx bench/webhook.ts [embedded|postgres] [deliveries]   (default: embedded 200)
 * postgres needs PostgreSQL on 127.0.0.1:5432 and Redis on 6379 (as the tests).
 */
import { startTestApp } from '../test/helpers/app.ts';
import { freePort } from '../test/helpers/opal.ts';
import { startFakeOkta } from '../test/fakes/okta.ts';
import type { Backend } from '../test/helpers/env.ts';

const backend = (process.argv[2] === 'postgres' ? 'postgres' : 'embedded') as Backend;
const deliveries = Number(process.argv[3] ?? 200) || 200;
const SECRET = 'bench-event-hook-secret-0123456789';

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  const fake = await startFakeOkta();
  fake.seed({ users: 1000, groups: 20 });
  const port = await freePort();
  const t = await startTestApp(backend, { PIP_PUBLIC_URL: `http://127.0.0.1:${port}`, PIP_SYNC_POLL_SECONDS: '0.5' }, { worker: true });
  try {
    await t.app.listen({ port, host: '127.0.0.1' });
    const api = (method: 'POST' | 'PUT', url: string, payload?: unknown) => t.app.inject({ method, url, headers: t.auth(), payload: payload as object });
    const c = await api('POST', '/pip/connections', { name: 'okta-bench', type: 'okta', config: { orgUrl: fake.url, apiToken: fake.apiToken, webhookSecret: SECRET } });
    const id = c.json().id as string;
    await api('POST', `/pip/connections/${id}/discover`);
    await api('PUT', `/pip/connections/${id}/streams`, { streams: [{ name: 'users' }, { name: 'groups' }, { name: 'memberships' }] });
    await waitRevision(t, id, () => t.services.sync.trigger({ tenantId: 'default', actor: 'bench', requestId: 'bench' }, id, {}));

    const users = [...fake.users.values()];
    const url = `http://127.0.0.1:${port}/pip/webhooks/okta/${id}`;
    const latencies: number[] = [];
    const answers: number[] = [];
    const started = performance.now();
    for (let i = 0; i < deliveries; i++) {
      const u = users[i % users.length]!;
      fake.updateUser(u.id, { title: `Title ${i}` });
      let answeredAt = 0;
      const t0 = performance.now();
      const revisionAt = await waitRevision(t, id, async () => {
        const res = await fake.deliverEvents(url, [fake.userEvent('user.account.update_profile', u)], { header: 'Authorization', secret: SECRET });
        answeredAt = performance.now();
        if (res.status !== 200 || res.body.accepted !== 1) throw new Error(`delivery ${i} answered ${res.status} ${JSON.stringify(res.body)}`);
      });
      latencies.push(revisionAt - t0);
      answers.push(answeredAt - t0);
    }
    const total = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    answers.sort((a, b) => a - b);
    console.log(`webhook → new revision, ${deliveries} deliveries one at a time, ${backend} store, in-process worker (poll 0.5 s)`);
    console.log(`  latency   p50 ${ms(pct(latencies, 50))}   p90 ${ms(pct(latencies, 90))}   p99 ${ms(pct(latencies, 99))}   max ${ms(latencies.at(-1)!)}`);
    console.log(`  2xx answer p50 ${ms(pct(answers, 50))}   p99 ${ms(pct(answers, 99))}`);
    console.log(`  ${(deliveries / total).toFixed(1)} deliveries/s end to end`);
  } finally {
    await t.close();
    await fake.close();
  }
}

/** runs `send` and resolves with the time the next revision of the connection was emitted */
function waitRevision(t: Awaited<ReturnType<typeof startTestApp>>, connectionId: string, send: () => unknown): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no new revision within 60 s'));
    }, 60_000);
    const off = t.services.revisions.on((e) => {
      if (e.connectionId !== connectionId) return;
      clearTimeout(timer);
      off();
      resolve(performance.now());
    });
    Promise.resolve()
      .then(send)
      .catch((err: unknown) => {
        clearTimeout(timer);
        off();
        reject(err);
      });
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
