/**
 * The connector contract (Airbyte's protocol shape): a connector is data plus four verbs.
 *
 *   spec      what its config looks like (JSON Schema, secrets flagged), auth kinds, capabilities
 *   check     a real, cheap call proving credentials and permissions (throws SourceError)
 *   discover  the catalog of streams with fields, keys, relations, cursor candidates
 *   read      an async iterable of messages: upserts, deletes, state checkpoints, statuses
 *   webhooks  (optional) handshake / verify / events → hints for a targeted read
 *
 * The service never talks to a provider except through these verbs.
 */
import type { TObject } from 'typebox';

export type ConnectorCategory = 'identity' | 'database' | 'api' | 'enterprise';

export type AuthKind =
  | 'none'
  | 'password'
  | 'api_token'
  | 'api_key'
  | 'basic'
  | 'bearer'
  | 'bind'
  | 'oauth2_auth_code_pkce'
  | 'client_credentials'
  | 'private_key_jwt'
  | 'service_account';

export type Sensitivity = 'public' | 'internal' | 'confidential' | 'restricted';
export const SENSITIVITY_LEVELS: readonly Sensitivity[] = ['public', 'internal', 'confidential', 'restricted'];

export type SyncMode = 'full' | 'incremental';

/** One wizard step: an ordered group of config properties the UI renders together. */
export interface WizardStep {
  id: string;
  title: string;
  description?: string;
  /** top-level property names of the config schema shown in this step */
  fields: string[];
}

export interface ConnectorCapabilities {
  discovery: boolean;
  /** how incremental reads work: none, by a cursor column/field, or a provider delta token */
  incremental: 'none' | 'cursor' | 'delta';
  webhooks: boolean;
  /** streams can be read for a subset of keys (targeted reads from webhooks) */
  targetedRead: boolean;
}

/** How a client authenticates at an OAuth token endpoint (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export type OAuthClientAuth =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientSecret: string }
  /** a signed client assertion; `privateKey` is PKCS#8 PEM or a private JWK as JSON */
  | { method: 'private_key_jwt'; privateKey: string; keyId?: string; algorithm?: string }
  | { method: 'none' };

/**
 * A connector whose provider is authorized by an admin in a browser (OAuth 2.0 authorization
 * code, PKCE S256): the service runs the flow (`/pip/oauth/...`), keeps the tokens sealed and
 * hands the connector an `oauthTokens` provider. Everything is a function of the config, whose
 * secrets are revealed only where the client authentication needs them.
 */
export interface OAuthSpec<C = any> {
  /** whether this config authorizes through the service's OAuth flow */
  enabled(config: C): boolean;
  authorizeUrl(config: C): string;
  tokenUrl(config: C): string;
  scopes(config: C): string[];
  /** PKCE S256 (default true) */
  pkce?(config: C): boolean;
  clientId(config: C): string;
  clientAuth(config: C): OAuthClientAuth;
  /** extra query parameters of the authorize request (prompt, audience…) */
  authorizeParams?(config: C): Record<string, string>;
}

/** Access tokens of an OAuth-authorized connection, kept fresh by the service. */
export interface OAuthTokenProvider {
  /** a valid access token (refreshed first when it expires soon) */
  get(): Promise<string>;
  /** a new access token, after the provider answered 401 to the current one */
  refresh(): Promise<string>;
}

export interface ConnectorSpec<C = any> {
  /** JSON Schema (TypeBox) of the config. Secret properties carry `'x-secret': true`. */
  config: TObject;
  authKinds: AuthKind[];
  steps: WizardStep[];
  capabilities: ConnectorCapabilities;
  documentationUrl?: string;
  /** present when the provider can be authorized with the service's OAuth flow */
  oauth?: OAuthSpec<C>;
}

/** A pre-filled configuration for a common setup, shown by the wizard. */
export interface ConnectorTemplate {
  id: string;
  name: string;
  description: string;
  config: Record<string, unknown>;
}

/** Minimal structured logger (pino-compatible). Never pass secrets in fields. */
export interface ConnectorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Decides whether a host the admin typed may be contacted (see sdk/network-guard.ts). */
export interface NetworkGuard {
  /** resolves host and throws SourceError(kind 'blocked') if any address is refused */
  assertAllowed(host: string): Promise<void>;
}

export interface ConnectorContext {
  /** aborted when the caller gives up (timeout, cancellation) */
  signal: AbortSignal;
  logger: ConnectorLogger;
  networkGuard: NetworkGuard;
  /** per-call timeout budget for check/discover in milliseconds */
  timeoutMs: number;
  /** set when the connection is OAuth-authorized through the service (see OAuthSpec) */
  oauthTokens?: OAuthTokenProvider;
}

export interface CheckDetails {
  /** what was proven, e.g. { serverVersion, database, user, canReadTables: 12 } */
  [key: string]: unknown;
}

export type FieldType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'time'
  | 'uuid'
  | 'json'
  | 'object'
  | 'array'
  | 'binary';

export interface CatalogField {
  name: string;
  type: FieldType;
  /** the provider's own type name, e.g. `character varying(255)` or `NVARCHAR` */
  sourceType: string;
  nullable: boolean;
  suggestedSensitivity: Sensitivity;
  description?: string;
  /** for sampled sources (MongoDB, REST): share of sampled records that carry the field, 0..1 */
  frequency?: number;
}

export interface StreamRelation {
  name?: string;
  fields: string[];
  references: { stream: string; namespace?: string; fields: string[] };
}

export interface CatalogStream {
  name: string;
  /** schema / database / collection namespace where the source has one */
  namespace?: string;
  kind: 'table' | 'view' | 'collection' | 'entity' | 'endpoint' | 'relation';
  fields: CatalogField[];
  primaryKey: string[];
  cursorCandidates: string[];
  relations: StreamRelation[];
  supportedSyncModes: SyncMode[];
  estimatedRows?: number;
  description?: string;
  /**
   * For a stream that describes a document rather than holding data (an OpenAPI document's
   * endpoints): entry key → a fingerprint of what matters about it, so the next discovery's diff
   * names the entries added, removed or changed (`DELETE /orders/{id}` needing another scope).
   */
  entries?: Record<string, string>;
}

export interface Catalog {
  streams: CatalogStream[];
}

/** What the admin selected for one stream (the mapping, seen from the connector). */
export interface ConfiguredStream {
  name: string;
  namespace?: string;
  /** source field names to read; empty means all */
  fields: string[];
  primaryKey: string[];
  syncMode: SyncMode;
  cursorField?: string;
}

export interface ConfiguredCatalog {
  streams: ConfiguredStream[];
}

/** Opaque per-stream state, persisted by the sync engine only together with the data it describes. */
export type StreamState = Record<string, unknown>;

/** A targeted read: only these keys of this stream (from a webhook or an event). */
export interface ReadHint {
  stream: string;
  keys: Array<Record<string, unknown>>;
}

export interface ReadContext extends ConnectorContext {
  /** state per stream name from the last successful run */
  state: Record<string, StreamState | undefined>;
  /** when set, read only these keys instead of the configured streams' full contents */
  hints?: ReadHint[];
  /** rows per batch fetched from the source; connectors choose a sane default */
  batchSize?: number;
}

export type ReadMessage =
  | { type: 'record'; stream: string; data: Record<string, unknown> }
  | { type: 'delete'; stream: string; key: Record<string, unknown> }
  /** everything emitted before this message for `stream` is covered by `state` */
  | { type: 'state'; stream: string; state: StreamState }
  | { type: 'stream_status'; stream: string; status: 'started' | 'complete' }
  /**
   * the records of `stream` whose fields equal `scope` (e.g. `{ group_id }`) emitted in this run
   * are all there are: stored ones matching `scope` but not emitted are deleted at apply
   * (an incremental re-read of one group's members, the memberships of a deleted user)
   */
  | { type: 'scope_complete'; stream: string; scope: Record<string, string | number | boolean> }
  | { type: 'rate_limited'; waitMs: number; reason: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export interface WebhookRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | undefined>;
  /** raw body bytes, for signature verification */
  rawBody: Buffer;
  /** parsed JSON body when the content type is JSON */
  body: unknown;
}

export type WebhookOutcome =
  /** a handshake the provider expects an exact reply to (Okta challenge, Graph validationToken) */
  | { kind: 'handshake'; status: number; contentType: string; body: string }
  /**
   * a verified delivery: events with a provider id (for dedupe) and what to re-read. A hint with
   * no keys asks for the stream's normal (incremental) read, e.g. after missed notifications;
   * `renewSubscription` asks the subscriptions service to renew or recreate the connection's
   * provider subscription now (Graph `reauthorizationRequired`, `subscriptionRemoved`).
   */
  | { kind: 'events'; events: Array<{ id: string; type: string; hints: ReadHint[]; deletes?: ReadHint[]; renewSubscription?: boolean }> }
  | { kind: 'rejected'; status: number; reason: string };

export interface WebhookHandler<C> {
  handle(config: C, req: WebhookRequest): Promise<WebhookOutcome>;
}

/**
 * What a connector created at the provider so that changes are pushed to the service (Graph
 * change-notification subscriptions, Google watch channels). The service keeps it per connection
 * and calls `ensure` again before `renewBefore`.
 */
export interface SubscriptionState {
  /** when the provider stops delivering unless renewed (ISO 8601) */
  expiresAt: string;
  /** what the connector needs to renew or remove it (subscription ids, channel and resource ids) */
  data: Record<string, unknown>;
}

export interface SubscriptionManager<C> {
  /** whether this config asks for push notifications; reads only non-secret config fields */
  enabled(config: C): boolean;
  /**
   * creates the provider-side subscriptions for `callbackUrl` (the connection's
   * `/pip/webhooks/{type}/{connection_id}`), or renews — and repairs, when the provider lost
   * them — those in `current`; returns the state to keep
   */
  ensure(config: C, ctx: ConnectorContext, opts: { callbackUrl: string; current?: SubscriptionState }): Promise<SubscriptionState>;
  /** when `ensure` must run again to keep deliveries flowing */
  renewBefore(state: SubscriptionState): Date;
  /** removes what `ensure` created; one already gone at the provider is not an error */
  remove(config: C, ctx: ConnectorContext, state: SubscriptionState): Promise<void>;
}

export interface ConnectorDefinition<C = Record<string, unknown>> {
  type: string;
  displayName: string;
  category: ConnectorCategory;
  description: string;
  spec: ConnectorSpec<C>;
  templates?: ConnectorTemplate[];
  /** network targets a config points at (hosts), for the network guard */
  targets(config: C): string[];
  check(config: C, ctx: ConnectorContext): Promise<CheckDetails>;
  discover(config: C, ctx: ConnectorContext): Promise<Catalog>;
  read(config: C, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncIterable<ReadMessage>;
  webhooks?: WebhookHandler<C>;
  /** provider-side push subscriptions with a lifecycle outside read() (create, renew, remove) */
  subscriptions?: SubscriptionManager<C>;
}

/** Identity helper that keeps the config type attached to the definition. */
export function defineConnector<C>(def: ConnectorDefinition<C>): ConnectorDefinition<C> {
  return def;
}
