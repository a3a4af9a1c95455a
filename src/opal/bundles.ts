/**
 * OPA bundles for users without OPAL: a gzipped tarball with `.manifest` (revision, roots
 * ["<prefix>/<tenant>"]) and one `data.json` per OPAL entry path (users, groups, each source or
 * each of its streams, meta), so `data.<prefix>.<tenant>` is the same document OPAL would write.
 * Deterministic bytes for a document version (fixed mtime, sorted entries), so its ETag is stable.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { LoadedDocument } from './documents.service.ts';
import { allPaths } from './entries.ts';

const gzip = promisify(zlib.gzip);

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** a POSIX tar (pax headers for long paths) of the given files */
export function tar(files: Array<{ path: string; data: Buffer }>): Buffer {
  const out: Buffer[] = [];
  for (const f of files) {
    if (Buffer.byteLength(f.path) > 99) {
      const record = (len: number) => `${len} path=${f.path}\n`;
      let len = Buffer.byteLength(record(0));
      while (Buffer.byteLength(record(len)) !== len) len = Buffer.byteLength(record(len));
      const pax = Buffer.from(record(len));
      out.push(header(`PaxHeader/${crypto.createHash('sha1').update(f.path).digest('hex').slice(0, 40)}`, pax.length, 'x'), pax, pad(pax.length));
    }
    out.push(header(f.path, f.data.length, '0'), f.data, pad(f.data.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export interface Bundle {
  bytes: Buffer;
  etag: string;
  revision: string;
}

export async function buildBundle(doc: LoadedDocument, dstPrefix: string): Promise<Bundle> {
  const root = `${dstPrefix}/${doc.index.tenant}`;
  const revision = `${doc.index.revision}-${doc.index.etags.document}`;
  const files: Array<{ path: string; data: Buffer }> = [{ path: '.manifest', data: Buffer.from(JSON.stringify({ revision, roots: [root], metadata: { generated_at: doc.index.generatedAt } })) }];
  for (const p of allPaths(doc.index)) files.push({ path: `${root}/${p}/data.json`, data: doc.parts.get(p)!.raw });
  const bytes = await gzip(tar(files), { level: 6 });
  return { bytes, etag: doc.index.etags.document!, revision };
}
