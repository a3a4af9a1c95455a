/**
 * Sends pre-serialized bytes: gzip when the client accepts it, a strong ETag per version, 304
 * on a matching If-None-Match, headers and body written together.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function acceptsGzip(req: FastifyRequest): boolean {
  const h = req.headers['accept-encoding'];
  if (!h) return false;
  return String(h)
    .split(',')
    .some((part) => {
      const [coding, ...params] = part.trim().split(';');
      if (coding!.trim().toLowerCase() !== 'gzip' && coding!.trim() !== '*') return false;
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((x) => x !== undefined);
      return q === undefined || Number(q) > 0;
    });
}

export function etagMatches(req: FastifyRequest, etag: string): boolean {
  const h = req.headers['if-none-match'];
  if (!h) return false;
  if (String(h).trim() === '*') return true;
  return String(h)
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''))
    .includes(etag);
}

export function sendBytes(req: FastifyRequest, reply: FastifyReply, o: { raw: Buffer; gz?: Buffer; etag: string; contentType: string }): FastifyReply {
  reply.header('etag', `"${o.etag}"`).header('cache-control', 'private, no-cache').header('vary', 'Accept-Encoding');
  if (etagMatches(req, o.etag)) return reply.code(304).send();
  reply.type(o.contentType);
  if (o.gz && acceptsGzip(req)) return reply.header('content-encoding', 'gzip').send(o.gz);
  return reply.send(o.raw);
}
