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

export interface ConnectorSpec {
  /** JSON Schema (TypeBox) of the config. Secret properties carry `'x-secret': true`. */
  config: TObject;
  authKinds: AuthKind[];
  steps: WizardStep[];
  capabilities: ConnectorCapabilities;
  documentationUrl?: string;
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
  /** a verified delivery: events with a provider id (for dedupe) and what to re-read */
  | { kind: 'events'; events: Array<{ id: string; type: string; hints: ReadHint[]; deletes?: ReadHint[] }> }
  | { kind: 'rejected'; status: number; reason: string };

export interface WebhookHandler<C> {
  handle(config: C, req: WebhookRequest): Promise<WebhookOutcome>;
}

export interface ConnectorDefinition<C = Record<string, unknown>> {
  type: string;
  displayName: string;
  category: ConnectorCategory;
  description: string;
  spec: ConnectorSpec;
  templates?: ConnectorTemplate[];
  /** network targets a config points at (hosts), for the network guard */
  targets(config: C): string[];
  check(config: C, ctx: ConnectorContext): Promise<CheckDetails>;
  discover(config: C, ctx: ConnectorContext): Promise<Catalog>;
  read(config: C, catalog: ConfiguredCatalog, ctx: ReadContext): AsyncIterable<ReadMessage>;
  webhooks?: WebhookHandler<C>;
}

/** Identity helper that keeps the config type attached to the definition. */
export function defineConnector<C>(def: ConnectorDefinition<C>): ConnectorDefinition<C> {
  return def;
}
