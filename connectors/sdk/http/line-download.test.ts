import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type TestHttpServer } from '../../../test/fakes/http-server.ts';
import { createNetworkGuard } from '../network-guard.ts';
import { downloadLines } from './line-download.ts';

const lines = Array.from({ length: 5_000 }, (_, i) => JSON.stringify({ user_id: `auth0|${i}`, email: `u${i}@x.io` }));

describe('downloadLines', () => {
  let server: TestHttpServer;
  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      if (req.headers.authorization) return void res.writeHead(400).end('Only one auth mechanism allowed');
      switch (req.url.pathname) {
        case '/users.json.gz':
          return void res.writeHead(200, { 'content-type': 'application/gzip' }).end(zlib.gzipSync(lines.join('\n') + '\n'));
        case '/users.json':
          return void res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(lines.slice(0, 3).join('\r\n'));
        case '/moved':
          return void res.writeHead(302, { location: req.url.searchParams.get('to') ?? '/users.json' }).end();
        case '/corrupt.gz':
          return void res.writeHead(200).end(Buffer.concat([zlib.gzipSync('{"a":1}\n').subarray(0, 12), Buffer.from('garbage-garbage')]));
        default:
          return void res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
      }
    });
  });
  afterAll(async () => server?.close());

  const all = async (url: string, guard = createNetworkGuard()) => {
    const out: string[] = [];
    for await (const l of downloadLines({ source: 'test', url, networkGuard: guard })) out.push(l);
    return out;
  };

  it('streams a gzipped NDJSON file line by line, and a plain one, without credentials', async () => {
    expect(await all(`${server.url}/users.json.gz?X-Amz-Signature=abc`)).toEqual(lines);
    expect(await all(`${server.url}/moved`)).toEqual(lines.slice(0, 3));
  });

  it('checks redirect targets with the network guard', async () => {
    await expect(all(`${server.url}/moved?to=http://169.254.169.254/latest`)).rejects.toMatchObject({ kind: 'blocked' });
  });

  it('fails with the path only (never the pre-signed query) and a kind to act on', async () => {
    const err = await all(`${server.url}/expired.json.gz?X-Amz-Signature=very-secret`).catch((e: Error) => e);
    expect(err).toMatchObject({ kind: 'permission', message: expect.stringContaining('/expired.json.gz') });
    expect((err as Error).message).not.toContain('very-secret');
    await expect(all(`${server.url}/corrupt.gz`)).rejects.toMatchObject({ kind: 'protocol', message: expect.stringContaining('corrupt gzip') });
  });
});
