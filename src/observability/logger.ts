/**
 * pino options: structured JSON, request id on every line, and redaction of anything that can
 * carry a secret (authorization headers, tokens in query strings, config secret fields).
 */
import type { LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-pip-data-token"]',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.apiToken',
  '*.api_token',
  '*.token',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.privateKey',
  '*.private_key',
  '*.connectionString',
  'config.*',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(req: { method: string; url: string; id?: string; ip?: string }) {
        // query strings may carry tokens (OPAL's ?token=): log the path only
        return { method: req.method, url: req.url.split('?')[0], ip: req.ip };
      },
    },
  };
}
