/**
 * Error codes a client can see, as `{ error: { code, message, details } }`. Codes are
 * PIP_SCREAMING_SNAKE as Fastify uses FST_. 4xx messages say what to fix; 5xx messages are
 * replaced by a generic text with the request id (see app.ts error handler).
 */
import createError from '@fastify/error';

export const Errors = {
  Unauthorized: createError('PIP_UNAUTHORIZED', '%s', 401),
  Forbidden: createError('PIP_FORBIDDEN', '%s', 403),
  NotFound: createError('PIP_NOT_FOUND', '%s', 404),
  Conflict: createError('PIP_CONFLICT', '%s', 409),
  BadRequest: createError('PIP_BAD_REQUEST', '%s', 400),
  Unprocessable: createError('PIP_UNPROCESSABLE', '%s', 422),
  TenantNotFound: createError('PIP_TENANT_NOT_FOUND', 'tenant %s not found', 404),
  TenantDisabled: createError('PIP_TENANT_DISABLED', 'tenant %s is disabled', 403),
  ApiKeyNotFound: createError('PIP_API_KEY_NOT_FOUND', 'API key %s not found', 404),
  ServiceUnavailable: createError('PIP_SERVICE_UNAVAILABLE', '%s', 503),
};

/** An error with a code, status and structured details (field paths, hints). */
export class PipError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PipError';
  }
}

export interface FieldProblem {
  path: string;
  message: string;
}

export function validationError(problems: FieldProblem[], what = 'request'): PipError {
  const first = problems[0];
  const msg = first ? `${what} is invalid: ${first.path || '(root)'} ${first.message}` : `${what} is invalid`;
  return new PipError('PIP_VALIDATION_FAILED', 400, msg, { problems });
}
