/** Waiting for sync jobs in tests (polling the API like a client would). */
import type { TestApp } from './app.ts';

export async function waitForJob(t: TestApp, jobId: string, until: string[] = ['succeeded', 'failed', 'cancelled'], timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await t.app.inject({ method: 'GET', url: `/pip/sync/jobs/${jobId}`, headers: t.auth() })).json();
    if (until.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function triggerSync(t: TestApp, connectionId: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: `/pip/connections/${connectionId}/trigger-sync`, headers: t.auth(), payload: body });
  if (r.statusCode !== 202) throw new Error(`trigger-sync answered ${r.statusCode}: ${r.body}`);
  return r.json().job_id;
}

export async function syncAndWait(t: TestApp, connectionId: string, body: Record<string, unknown> = {}): Promise<any> {
  return waitForJob(t, await triggerSync(t, connectionId, body));
}
