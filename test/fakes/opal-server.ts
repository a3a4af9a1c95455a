/**
 * A fake OPAL server for tests: records every `POST /data/config` (body and headers) and answers
 * 200 `{"status":"ok"}`, or the statuses queued with `failNext()`. Also answers `GET /data/config`
 * with a redirect to a configured external source URL, as OPAL does with `?token=`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedUpdate {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: {
    id?: string;
    reason?: string;
    entries: Array<{ url: string; topics: string[]; dst_path: string; config?: { headers?: Record<string, string> } }>;
    callback?: { callbacks: unknown[] };
  };
  /** the status this request was answered with */
  status: number;
}

export interface FakeOpalServer {
  url: string;
  /** every POST /data/config, answered or failed */
  requests: RecordedUpdate[];
  /** the ones answered 2xx */
  accepted(): RecordedUpdate[];
  /** answer the next n POSTs with this status */
  failNext(n: number, status?: number): void;
  /** OPAL's external_source_url redirect target for GET /data/config */
  externalSourceUrl?: string;
  waitFor(predicate: (reqs: RecordedUpdate[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeOpalServer(): Promise<FakeOpalServer> {
  const failures: number[] = [];
  const fake: FakeOpalServer = {
    url: '',
    requests: [],
    accepted: () => fake.requests.filter((r) => r.status < 300),
    failNext(n, status = 503) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(fake.requests)) {
        if (Date.now() > deadline) throw new Error(`fake OPAL server: condition not met within ${timeoutMs} ms; got ${fake.requests.length} requests`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: unknown) => {
        const payload = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
      };
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/data/config') {
        const status = failures.shift() ?? 200;
        let body: RecordedUpdate['body'];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return json(422, { detail: 'invalid json' });
        }
        fake.requests.push({ at: Date.now(), headers: req.headers, body, status });
        return status < 300 ? json(status, { status: 'ok' }) : json(status, { detail: `fake failure ${status}` });
      }
      if (req.method === 'GET' && path === '/data/config' && fake.externalSourceUrl) {
        const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
        res.writeHead(307, { location: `${fake.externalSourceUrl}?token=${encodeURIComponent(token)}` }).end();
        return;
      }
      json(404, { detail: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
