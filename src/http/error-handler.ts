/**
 * One error shape for every failure: `{ error: { code, message, details } }`.
 * 4xx pass their message through (it tells the client what to fix); 5xx never do (Fastify's
 * default would send error.message verbatim): the client gets the request id to quote instead.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSourceError } from '../../connectors/sdk/errors.ts';

interface AjvProblem {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldPath(context: string | undefined, p: AjvProblem): string {
  const base = [context ?? 'body', ...p.instancePath.split('/').filter(Boolean)];
  if (p.keyword === 'required' && typeof p.params.missingProperty === 'string') base.push(p.params.missingProperty);
  if (p.keyword === 'additionalProperties' && typeof p.params.additionalProperty === 'string') base.push(p.params.additionalProperty);
  return base.join('.');
}

const FASTIFY_CODES: Record<string, [string, string?]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['PIP_INVALID_JSON', 'the request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['PIP_INVALID_JSON', 'the request body is empty but the content type is JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PIP_PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['PIP_UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['PIP_BAD_REQUEST'],
  FST_ERR_RATE_LIMIT_EXCEEDED: ['PIP_RATE_LIMITED'],
};

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown) {
  return reply.code(status).type('application/json').send({ error: details === undefined ? { code, message } : { code, message, details } });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { details?: unknown; validationContext?: string }, req: FastifyRequest, reply: FastifyReply) => {
    if (err.validation) {
      const problems = (err.validation as unknown as AjvProblem[]).map((p) => ({ path: fieldPath(err.validationContext, p), message: p.keyword === 'required' ? 'is required' : p.keyword === 'additionalProperties' ? 'is not a known property' : (p.message ?? p.keyword) }));
      const first = problems[0]!;
      return sendError(reply, 400, 'PIP_VALIDATION_FAILED', `${first.path} ${first.message}`, { problems });
    }
    if (isSourceError(err)) {
      return sendError(reply, 502, err.code, err.message, { kind: err.kind, hint: err.hint });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
      const code = mapped?.[0] ?? (err.code?.startsWith('PIP_') ? err.code : `PIP_${status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'}`);
      return sendError(reply, status, code, mapped?.[1] ?? err.message, err.details);
    }
    req.log.error({ err }, 'request failed');
    if (status === 503 && err.code?.startsWith('PIP_')) return sendError(reply, 503, err.code, err.message);
    return sendError(reply, 500, 'PIP_INTERNAL', `internal error; quote request id ${req.id} when reporting it`);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'PIP_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
}
