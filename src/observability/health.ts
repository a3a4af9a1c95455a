/**
 * Dependency checks for /healthz. A critical check that fails makes the service `down` (503);
 * a non-critical one (the cache) only `degraded` (200): the service still answers from the store.
 */
export interface CheckResult {
  status: 'ok' | 'down';
  latency_ms?: number;
  message?: string;
  [extra: string]: unknown;
}

export interface HealthCheck {
  name: string;
  critical: boolean;
  run(): Promise<Omit<CheckResult, 'status'> | void>;
}

export class HealthChecks {
  private readonly checks: HealthCheck[] = [];
  add(check: HealthCheck): void {
    this.checks.push(check);
  }
  async runAll(timeoutMs = 2_000): Promise<{ status: 'ok' | 'degraded' | 'down'; checks: Record<string, CheckResult> }> {
    const results: Record<string, CheckResult> = {};
    let status: 'ok' | 'degraded' | 'down' = 'ok';
    await Promise.all(
      this.checks.map(async (c) => {
        const t0 = performance.now();
        try {
          const extra = await Promise.race([
            c.run(),
            new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
          ]);
          results[c.name] = { status: 'ok', latency_ms: Math.round((performance.now() - t0) * 10) / 10, ...(extra ?? {}) };
        } catch (err) {
          results[c.name] = { status: 'down', message: (err as Error).message.slice(0, 200) };
          if (c.critical) status = 'down';
          else if (status === 'ok') status = 'degraded';
        }
      }),
    );
    return { status, checks: results };
  }
}
