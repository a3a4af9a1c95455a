/**
 * OAuth routes. `authorize` and `refresh` need an editor key; the callback is public (the
 * provider redirects the admin's browser to it, or POSTs a form with `response_mode=form_post`)
 * and is authenticated by the single-use state instead.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.ts';
import type { OAuthService, OAuthStatusView } from './oauth.service.ts';

const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' }) });
const ConnectionParams = Type.Object({ connection_id: Type.String({ minLength: 1, maxLength: 64 }) });
const CallbackFields = {
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 512 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
};
const CallbackQuery = Type.Object(CallbackFields);
const StatusView = Type.Object({
  connection_id: Type.String(),
  provider: Type.String(),
  status: Type.Literal('authorized'),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Type.String(), Type.Null()]),
  refresh_token: Type.Boolean({ description: 'whether the provider issued a refresh token' }),
  authorized_at: Type.String(),
  refreshed_at: Type.Union([Type.String(), Type.Null()]),
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function successPage(v: OAuthStatusView): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Authorized</title></head><body>
<h1>Connection authorized</h1><p>${escapeHtml(v.provider)} granted: ${escapeHtml(v.scopes.join(' ') || '(no scopes)')}.</p>
<p>You can close this window.</p></body></html>`;
}

const wantsHtml = (accept: string | undefined) => !!accept && /text\/html/.test(accept) && !/application\/json/.test(accept);

export const oauthRoutes: FastifyPluginAsyncTypebox<{ oauth: OAuthService }> = async (app, { oauth }) => {
  // form_post callbacks (encapsulated: only these routes parse forms)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/pip/oauth/authorize/:provider', {
    schema: {
      tags: ['oauth'],
      summary: "Start authorizing a connection: 302 to the provider's consent page (JSON { authorization_url } with Accept: application/json)",
      params: ProviderParams,
      querystring: Type.Object({ connection_id: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { 200: Type.Object({ authorization_url: Type.String(), expires_at: Type.String() }), 302: Type.Null(), ...errorResponses },
    },
    preHandler: app.requireRole('editor'),
  }, async (req, reply) => {
    const started = await oauth.authorize(req.ctx, req.params.provider, req.query.connection_id);
    reply.header('cache-control', 'no-store');
    if (/application\/json/.test(req.headers.accept ?? '')) return started;
    return reply.redirect(started.authorization_url, 302);
  });

  const callback = async (provider: string, input: Record<string, unknown>, requestId: string) => {
    const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
    return oauth.callback(provider, { code: str('code'), state: str('state'), error: str('error'), error_description: str('error_description') }, requestId);
  };

  app.get('/pip/oauth/callback/:provider', {
    schema: { tags: ['oauth'], summary: 'Where the provider sends the admin back (code or error, with the state)', params: ProviderParams, querystring: CallbackQuery, response: { 200: StatusView, ...errorResponses }, security: [] },
    config: { public: true },
  }, async (req, reply) => {
    const view = await callback(req.params.provider, req.query, req.id);
    reply.header('cache-control', 'no-store');
    if (wantsHtml(req.headers.accept)) return reply.type('text/html; charset=utf-8').serializer((p: unknown) => p as string).send(successPage(view) as never);
    return view;
  });

  app.post('/pip/oauth/callback/:provider', {
    schema: { tags: ['oauth'], summary: 'The callback with response_mode=form_post', params: ProviderParams, body: Type.Object(CallbackFields), response: { 200: StatusView, ...errorResponses }, security: [] },
    config: { public: true },
  }, async (req, reply) => {
    const view = await callback(req.params.provider, req.body, req.id);
    reply.header('cache-control', 'no-store');
    if (wantsHtml(req.headers.accept)) return reply.type('text/html; charset=utf-8').serializer((p: unknown) => p as string).send(successPage(view) as never);
    return view;
  });

  app.post('/pip/oauth/refresh/:connection_id', {
    schema: { tags: ['oauth'], summary: "Refresh a connection's OAuth tokens now", params: ConnectionParams, response: { 200: StatusView, ...errorResponses, 502: errorResponses[400] } },
    preHandler: app.requireRole('editor'),
  }, async (req) => oauth.refresh(req.ctx, req.params.connection_id));
};
