/**
 * The shape every database connector's check / discover shares: open a connection, do one piece
 * of work, always close, and give up with SourceError(kind 'timeout') after the caller's budget —
 * closing the connection then too, so a hung query does not outlive the call.
 */
import { withTimeout } from './read-helpers.ts';

export interface Closable {
  close(): Promise<void>;
}

export interface WithConnectionOptions<C extends Closable, T> {
  source: string;
  /** what the call is, for the timeout message: 'check', 'discover' */
  what: string;
  timeoutMs: number;
  connect(): Promise<C>;
  work(connection: C): Promise<T>;
}

export async function withConnection<C extends Closable, T>(opts: WithConnectionOptions<C, T>): Promise<T> {
  let connection: C | undefined;
  let finished = false;
  const run = async (): Promise<T> => {
    const opened = await opts.connect();
    if (finished) {
      // the budget ran out while connecting: nobody waits for this connection any more
      await opened.close().catch(() => undefined);
      throw new Error('abandoned after timeout');
    }
    connection = opened;
    return opts.work(opened);
  };
  try {
    return await withTimeout(run(), opts.timeoutMs, opts.source, opts.what);
  } finally {
    finished = true;
    await connection?.close().catch(() => undefined);
  }
}
