/**
 * Contexts for calling connector verbs in tests: a real network guard (loopback allowed, as in
 * the default configuration), a logger that records, an abort signal the test can fire.
 */
import { createNetworkGuard, type NetworkGuardOptions } from '../../connectors/sdk/network-guard.ts';
import type { ConnectorContext, ConnectorLogger, ReadContext, ReadMessage } from '../../connectors/sdk/types.ts';

export interface RecordingLogger extends ConnectorLogger {
  entries: Array<{ level: string; obj: object; msg?: string }>;
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger['entries'] = [];
  const log = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj, msg });
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export function testContext(opts: { timeoutMs?: number; guard?: NetworkGuardOptions; controller?: AbortController } = {}): ConnectorContext {
  const controller = opts.controller ?? new AbortController();
  return {
    signal: controller.signal,
    logger: recordingLogger(),
    networkGuard: createNetworkGuard(opts.guard),
    timeoutMs: opts.timeoutMs ?? 10_000,
  };
}

export function testReadContext(extra: Partial<ReadContext> = {}): ReadContext {
  return { ...testContext(), state: {}, ...extra };
}

export async function collect(messages: AsyncIterable<ReadMessage>): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  for await (const m of messages) out.push(m);
  return out;
}

export function recordsOf(messages: ReadMessage[], stream?: string): Array<Record<string, unknown>> {
  return messages.flatMap((m) => (m.type === 'record' && (stream === undefined || m.stream === stream) ? [m.data] : []));
}

export function statesOf(messages: ReadMessage[], stream?: string): Array<Record<string, unknown>> {
  return messages.flatMap((m) => (m.type === 'state' && (stream === undefined || m.stream === stream) ? [m.state] : []));
}

/** A TCP port on 127.0.0.1 nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and immediately closes every connection. */
export async function slammingServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const { createServer } = await import('node:net');
  let count = 0;
  const server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { port, connections: () => count, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
