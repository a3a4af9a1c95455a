/** Starts the real service as a separate worker process (PIP_ROLE=worker) against a test database. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestApp } from './app.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface WorkerProcess {
  child: ChildProcess;
  /** JSON log lines printed so far */
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startWorker(t: TestApp, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: t.config.databaseUrl!,
      PIP_ENCRYPTION_KEYS: t.config.encryptionKeys!,
      PIP_BOOTSTRAP_ADMIN_KEY: t.adminKey,
      PIP_ROLE: 'worker',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PIP_SYNC_POLL_SECONDS: '0.5',
      PIP_SCHEDULER_TICK_SECONDS: '0.5',
      PIP_SYNC_LEASE_SECONDS: '3',
      PIP_SYNC_RETRY_BASE_SECONDS: '0.2',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: WorkerProcess = {
    child,
    lines: [],
    exited: new Promise((res) => child.on('exit', (code) => res(code))),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
    },
  };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        w.lines.push(JSON.parse(line));
      } catch {
        /* not a log line */
      }
    }
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // ready once it logs that the worker started
  const deadline = Date.now() + 60_000;
  while (!w.lines.some((l) => l.msg === 'sync worker started')) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${err.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`worker did not start: ${err.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return w;
}
