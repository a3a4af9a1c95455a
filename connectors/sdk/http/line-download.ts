/**
 * Streams a file a provider prepared for download (Auth0 users export, a pre-signed storage URL)
 * line by line: gzip is detected by its magic bytes and inflated on the fly, so memory stays at
 * one chunk and one line whatever the file size. No credentials are sent (a pre-signed URL refuses
 * them); every host, redirects included, passes the network guard. Failures are SourceErrors that
 * name the path only (a pre-signed URL's query string is a credential).
 */
import readline from 'node:readline';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { classifyNetworkError, SourceError } from '../errors.ts';
import { cancelledError } from '../read-helpers.ts';
import type { NetworkGuard } from '../types.ts';
import { describeRequest } from './types.ts';

export interface LineDownloadOptions {
  source: string;
  url: string;
  networkGuard?: NetworkGuard;
  signal?: AbortSignal;
  /** the whole download, headers to last byte (default 30 min) */
  timeoutMs?: number;
  maxRedirects?: number;
  fetch?: typeof fetch;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function open(opts: LineDownloadOptions, signal: AbortSignal): Promise<Response> {
  let url = new URL(opts.url);
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  for (let hop = 0; hop <= (opts.maxRedirects ?? 5); hop++) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SourceError(opts.source, `download URLs must be http(s), not ${url.protocol}`, { kind: 'protocol' });
    await opts.networkGuard?.assertAllowed(url.hostname.replace(/^\[(.*)\]$/, '$1'));
    let res: Response;
    try {
      res = await fetchImpl(url, { method: 'GET', redirect: 'manual', signal, headers: { accept: '*/*' } });
    } catch (err) {
      if (opts.signal?.aborted) throw cancelledError(opts.source, opts.signal);
      if (signal.aborted) throw new SourceError(opts.source, `${describeRequest('GET', url)} did not finish within the download time limit`, { kind: 'timeout', cause: err });
      const code = (err as { cause?: { code?: string } }).cause?.code;
      throw classifyNetworkError(opts.source, { code }, url.host) ?? new SourceError(opts.source, `${describeRequest('GET', url)} failed (${code ?? 'network error'})`, { kind: 'unreachable', cause: err });
    }
    const location = res.headers.get('location');
    if (REDIRECTS.has(res.status) && location) {
      await res.body?.cancel().catch(() => undefined);
      url = new URL(location, url);
      continue;
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      const kind = res.status >= 500 ? 'transient' : res.status === 403 || res.status === 401 ? 'permission' : 'protocol';
      throw new SourceError(opts.source, `${describeRequest('GET', url)} (download) answered ${res.status}`, { kind, detail: { status: res.status } });
    }
    return res;
  }
  throw new SourceError(opts.source, `the download redirected more than ${opts.maxRedirects ?? 5} times`, { kind: 'protocol' });
}

/** the file's lines (without line ends), gzip or plain */
export async function* downloadLines(opts: LineDownloadOptions): AsyncGenerator<string> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30 * 60_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await open(opts, signal);
  const chunks = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)[Symbol.asyncIterator]();
  const first = await chunks.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Uint8Array);
  const all = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const n = await chunks.next();
        if (n.done) return;
        yield Buffer.from(n.value as Uint8Array);
      }
    })(),
  );
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const input = gzip ? all.pipe(zlib.createGunzip()) : all;
  if (gzip) all.on('error', (err) => input.destroy(err));
  const lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } catch (err) {
    if (opts.signal?.aborted) throw cancelledError(opts.source, opts.signal);
    if (err instanceof SourceError) throw err;
    const corrupt = (err as { code?: string }).code?.startsWith('Z_');
    throw new SourceError(opts.source, `the download of ${new URL(opts.url).pathname} broke off${corrupt ? ' (corrupt gzip data)' : ''}`, { kind: corrupt ? 'protocol' : 'transient', cause: err });
  } finally {
    lines.close();
    all.destroy();
  }
}
