/**
 * The GraphQL client: queries over the shared Requester (POST, JSON), `errors` in an answer are
 * failures even with HTTP 200 (named with the provider's code, message, path and location), the
 * schema from introspection or SDL, and a stream's records page by page — Relay connections
 * (`pageInfo.endCursor` / `hasNextPage` into the `after` variable) or offset variables.
 */
import { buildClientSchema, buildSchema, getIntrospectionQuery, GraphQLError, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { SourceError, type SourceErrorKind } from '../sdk/errors.ts';
import { authFromConfig, rateLimitFromConfig } from '../sdk/http/http-config.ts';
import {
  bodyCursorPaginator,
  createErrorHandler,
  functionSelector,
  genericErrorSummary,
  jsonBodyField,
  jsonPathSelector,
  noPaginator,
  offsetPaginator,
  readJsonPath,
  Requester,
  type ErrorAction,
  type ErrorSummary,
  type HttpRequest,
  type Paginator,
  type RecordSelector,
} from '../sdk/http/index.ts';
import type { RateLimitEvents } from '../sdk/http/rate-limit-events.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import type { GraphqlConfig, GraphqlStream } from './spec.ts';

export const SOURCE = 'graphql';

type Json = Record<string, unknown>;

interface GraphqlErrorEntry {
  message?: unknown;
  path?: unknown;
  locations?: Array<{ line?: number; column?: number }>;
  extensions?: { code?: unknown };
  type?: unknown;
}

const errorsOf = (body: unknown): GraphqlErrorEntry[] => {
  const errors = (body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? (errors as GraphqlErrorEntry[]) : [];
};

function describeGraphqlError(e: GraphqlErrorEntry, more: number): string {
  const where = Array.isArray(e.path) && e.path.length ? ` at ${e.path.join('.')}` : '';
  const loc = e.locations?.[0] ? ` (line ${e.locations[0].line}, column ${e.locations[0].column})` : '';
  return `${String(e.message ?? 'unknown error')}${where}${loc}${more > 0 ? ` (and ${more} more)` : ''}`;
}

/** `errors[0]` of a GraphQL answer: extensions.code (or GitHub's `type`), message, path, location. */
export function graphqlErrorSummary(body: unknown): ErrorSummary | undefined {
  const errors = errorsOf(body);
  const first = errors[0];
  if (!first) return genericErrorSummary(body);
  const code = first.extensions?.code ?? first.type;
  return { code: typeof code === 'string' ? code : undefined, message: describeGraphqlError(first, errors.length - 1) };
}

/** GraphQL error codes (Apollo, GitHub, Shopify) → what to do. */
const CODE_ACTIONS: Record<string, ErrorAction> = {
  UNAUTHENTICATED: { action: 'fail', kind: 'auth' },
  FORBIDDEN: { action: 'fail', kind: 'permission' },
  ACCESS_DENIED: { action: 'fail', kind: 'permission' },
  GRAPHQL_PARSE_FAILED: { action: 'fail', kind: 'config' },
  GRAPHQL_VALIDATION_FAILED: { action: 'fail', kind: 'config' },
  BAD_USER_INPUT: { action: 'fail', kind: 'config' },
  NOT_FOUND: { action: 'fail', kind: 'config' },
  RATE_LIMITED: { action: 'rate_limited' },
  THROTTLED: { action: 'rate_limited' },
  INTERNAL_SERVER_ERROR: { action: 'retry' },
};

export const graphqlErrorHandler = createErrorHandler({
  summary: graphqlErrorSummary,
  inspect(response) {
    const errors = errorsOf(response.body);
    if (errors.length === 0 || response.status >= 300) return undefined;
    const code = errors[0]!.extensions?.code ?? errors[0]!.type;
    const known = typeof code === 'string' ? CODE_ACTIONS[code] : undefined;
    if (known) return known;
    // errors without a path concern the request (syntax, validation); with one, a field failed
    const kind: SourceErrorKind = errors.some((e) => Array.isArray(e.path)) ? 'protocol' : 'config';
    return { action: 'fail', kind };
  },
});

/** A GraphQLError from parsing or validating a document → a config error naming line and column. */
export function documentError(what: string, errors: readonly GraphQLError[]): SourceError {
  const shown = errors.slice(0, 3).map((e) => describeGraphqlError({ message: e.message, locations: e.locations ? [...e.locations] : undefined }, 0));
  const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : '';
  return new SourceError(SOURCE, `${what}: ${shown.join('; ')}${more}`, { kind: 'config' });
}

const child = (path: string, name: string) => (path.trim() === '$' ? `$.${name}` : `${path.trim()}.${name}`);

/** Records of a Relay connection: `edges[*].node`, or `nodes`. */
function relaySelector(recordsPath: string): RecordSelector<Json> {
  return functionSelector((body) => {
    const connection = readJsonPath(body, recordsPath) as { edges?: unknown; nodes?: unknown } | null | undefined;
    if (connection === undefined || connection === null) return [];
    if (Array.isArray(connection.edges)) return connection.edges.map((e) => (e as { node?: Json } | null)?.node).filter((n): n is Json => n !== null && n !== undefined);
    if (Array.isArray(connection.nodes)) return connection.nodes.filter((n): n is Json => n !== null && typeof n === 'object');
    throw new SourceError(SOURCE, `${recordsPath} is not a Relay connection (select edges { node { … } } or nodes { … })`, { kind: 'config' });
  });
}

/** Relay: the body cursor strategy with the cursor in the query variables. */
function relayPaginator(stream: GraphqlStream): Paginator {
  const variables = jsonBodyField('variables');
  const pageInfo = child(stream.recordsPath, 'pageInfo');
  const cursor = bodyCursorPaginator({
    cursorPath: child(pageInfo, 'endCursor'),
    param: stream.afterVariable,
    params: variables,
    stopWhen(body) {
      const info = readJsonPath(body, pageInfo) as { hasNextPage?: unknown; endCursor?: unknown } | undefined;
      if (!info || typeof info.hasNextPage !== 'boolean') {
        throw new SourceError(SOURCE, `stream ${stream.name}: the answer has no ${pageInfo}.hasNextPage (select pageInfo { hasNextPage endCursor })`, { kind: 'config' });
      }
      return info.hasNextPage !== true;
    },
  });
  return { ...cursor, name: 'relay', start: (req) => variables.with(req, { [stream.firstVariable]: stream.pageSize }) };
}

const PAGING: Record<GraphqlStream['paging'], (s: GraphqlStream) => { paginator: Paginator; selector: RecordSelector<Json> }> = {
  relay: (s) => ({ paginator: relayPaginator(s), selector: relaySelector(s.recordsPath) }),
  offset: (s) => ({
    paginator: offsetPaginator({ pageSize: s.pageSize, limitParam: s.limitVariable, offsetParam: s.offsetVariable, params: jsonBodyField('variables') }),
    selector: jsonPathSelector<Json>(s.recordsPath, { source: SOURCE }),
  }),
  none: (s) => ({ paginator: noPaginator, selector: jsonPathSelector<Json>(s.recordsPath, { source: SOURCE }) }),
};

export class GraphqlClient {
  readonly http: Requester;
  private readonly endpoint: string;

  constructor(
    readonly config: GraphqlConfig,
    ctx: Pick<ConnectorContext, 'signal' | 'networkGuard'>,
    events?: RateLimitEvents,
  ) {
    this.endpoint = config.endpoint ?? '';
    this.http = new Requester({
      source: SOURCE,
      baseUrl: config.endpoint,
      auth: authFromConfig(SOURCE, config),
      rateLimit: rateLimitFromConfig(config.rateLimit, config.endpoint ? `${SOURCE}|${new URL(config.endpoint).origin}` : undefined),
      errorHandler: graphqlErrorHandler,
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
      headers: config.extraHeaders,
      networkGuard: ctx.networkGuard,
      signal: ctx.signal,
      onRateLimited: events?.onRateLimited,
    });
  }

  private requireEndpoint(what: string): string {
    if (!this.endpoint) throw new SourceError(SOURCE, `${what} needs the endpoint URL`, { kind: 'config' });
    return this.endpoint;
  }

  request(query: string, variables: Json = {}): HttpRequest {
    return { method: 'POST', url: this.requireEndpoint('a query'), body: { query, variables } };
  }

  async query<T = Json>(query: string, variables: Json = {}): Promise<T> {
    const res = await this.http.request<{ data?: T }>(this.request(query, variables));
    if (!res.body || typeof res.body !== 'object' || res.body.data === undefined || res.body.data === null) {
      throw new SourceError(SOURCE, `POST ${new URL(this.endpoint).pathname} answered ${res.status} without data`, { kind: 'protocol' });
    }
    return res.body.data;
  }

  /** The schema: introspected live, or built from the SDL document. */
  async schema(): Promise<GraphQLSchema> {
    if (this.config.schemaSource === 'sdl') {
      if (!this.config.sdl) throw new SourceError(SOURCE, 'schemaSource sdl needs the sdl document', { kind: 'config' });
      try {
        return buildSchema(this.config.sdl);
      } catch (err) {
        throw documentError('the SDL document is invalid', err instanceof GraphQLError ? [err] : [new GraphQLError(String((err as Error).message))]);
      }
    }
    let data: IntrospectionQuery;
    try {
      data = await this.query<IntrospectionQuery>(getIntrospectionQuery({ descriptions: true, directiveIsRepeatable: true, inputValueDeprecation: true, specifiedByUrl: true }));
    } catch (err) {
      if (err instanceof SourceError && (err.kind === 'config' || err.kind === 'protocol')) {
        throw new SourceError(SOURCE, `introspection failed (${err.message.slice(SOURCE.length + 2)}); if the endpoint does not allow introspection, set schemaSource to sdl and paste the schema`, {
          kind: err.kind,
          cause: err,
        });
      }
      throw err;
    }
    try {
      return buildClientSchema(data);
    } catch (err) {
      throw new SourceError(SOURCE, `the introspection answer is not a valid schema: ${(err as Error).message}`, { kind: 'protocol' });
    }
  }

  stream(name: string): GraphqlStream | undefined {
    return this.config.streams.find((s) => s.name === name);
  }

  /** A stream's records, one page at a time; `since` goes into the incremental variable. */
  pages(stream: GraphqlStream, since?: unknown): AsyncGenerator<Json[]> {
    const variables: Json = { ...stream.variables };
    if (stream.incremental && since !== undefined && since !== null) variables[stream.incremental.variable] = since;
    const { paginator, selector } = PAGING[stream.paging](stream);
    return this.http.paginate<Json>(this.request(stream.query, variables), paginator, selector);
  }
}
