/** The shared HTTP machinery for API connectors (see README.md beside this file). */
export type { HttpRequest, HttpResponse, QueryScalar, QueryValue } from './types.ts';
export { describeRequest } from './types.ts';
export { Requester, type Page, type RequesterOptions, type RequesterStats } from './requester.ts';
export {
  bodyCursorPaginator,
  checkpointPaginator,
  linkHeaderPaginator,
  nextUrlInBodyPaginator,
  noPaginator,
  odataNextLinkPaginator,
  offsetPaginator,
  pageNumberPaginator,
  parseLinkHeader,
  withQuery,
  queryParams,
  jsonBodyParams,
  jsonBodyField,
  type RequestParams,
  type BodyCursorOptions,
  type CheckpointOptions,
  type OffsetOptions,
  type PageContext,
  type PageNumberOptions,
  type Paginator,
} from './paginators.ts';
export { functionSelector, jsonPathSelector, type RecordSelector } from './record-selector.ts';
export { parseJsonPath, queryJsonPath, readJsonPath, selectJsonPath, valueAtDotPath, type JsonPath } from './json-path.ts';
export {
  DEFAULT_THROTTLE_REASONS,
  exponentialBackoff,
  parseResetHeader,
  parseRetryAfter,
  RateLimitBudgets,
  RateLimitPolicy,
  rateLimitPolicy,
  sharedRateLimitBudgets,
  sleep,
  type BackoffStrategy,
  type ExponentialBackoffOptions,
  type RateLimitPolicyOptions,
  type Throttle,
} from './rate-limit.ts';
export {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  noAuth,
  oauth2ClientCredentials,
  signClientAssertion,
  tokenProviderAuth,
  type ApiKeyAuthOptions,
  type AuthContext,
  type AuthStrategy,
  type ClientCredentialsOptions,
  type PrivateKeyJwtOptions,
} from './auth.ts';
export {
  createErrorHandler,
  defaultErrorHandler,
  errorSummaries,
  formatErrorSummary,
  genericErrorSummary,
  type ErrorAction,
  type ErrorHandler,
  type ErrorHandlerOptions,
  type ErrorSummary,
  type ErrorSummaryStrategy,
} from './errors.ts';
export { RateLimitEvents } from './rate-limit-events.ts';
