/**
 * `GET|POST /pip/webhooks/{provider}/{connection_id}`: public (the provider authenticates with
 * what the connector verifies). The body is kept as raw bytes (signatures are computed over
 * them) by a content-type parser scoped to these routes; JSON is parsed afterwards when the
 * content type says so. The app's rate limit applies as everywhere.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebhooksService } from './webhooks.service.ts';

const Params = Type.Object({
  provider: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' }),
  connection_id: Type.String({ minLength: 1, maxLength: 64 }),
});

function parseJson(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0 || !contentType || !/[/+]json\b/i.test(contentType)) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export const webhooksRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhooksService; bodyLimit: number }> = async (app, { webhooks, bodyLimit }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  const handler = async (req: { params: { provider: string; connection_id: string }; method: string; headers: Record<string, string | string[] | undefined>; query: unknown; body: unknown; id: string; ip: string }) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentType = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
    return webhooks.receive({
      provider: req.params.provider,
      connectionId: req.params.connection_id,
      requestId: req.id,
      ip: req.ip,
      request: { method: req.method, headers: req.headers, query: (req.query ?? {}) as Record<string, string | undefined>, rawBody, body: parseJson(rawBody, contentType) },
    });
  };

  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/pip/webhooks/:provider/:connection_id',
      bodyLimit,
      schema: {
        tags: ['webhooks'],
        summary: method === 'GET' ? 'Provider handshakes (Okta event hook verification)' : 'Provider event deliveries: verified, deduplicated, turned into a targeted sync',
        params: Params,
        security: [],
      },
      // per calling address: a delivery's Authorization header is the provider's secret, not an API key
      config: { public: true, rateLimit: { keyGenerator: (req: { ip: string }) => `webhook:${req.ip}` } },
      handler: async (req, reply) => {
        const out = await handler(req);
        return reply.code(out.status).type(out.contentType).send(out.body);
      },
    });
  }
};
