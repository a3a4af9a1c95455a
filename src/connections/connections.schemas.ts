/** Request and response schemas of the connection routes (validator, serializer and OpenAPI at once). */
import { Type } from 'typebox';

export const Sensitivity = Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('confidential'), Type.Literal('restricted')]);
export const SyncMode = Type.Union([Type.Literal('full'), Type.Literal('incremental')]);
export const ConfigObject = Type.Record(Type.String(), Type.Unknown(), { description: "the connector's config (see GET /pip/connectors/{type}); secret fields come back as ********" });

export const Settings = Type.Object({
  mass_delete_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of a stream a full sync may delete (default 0.5)' })),
  allow_mass_delete: Type.Optional(Type.Boolean({ description: 'turn the mass-delete guard off for this connection' })),
}, { additionalProperties: false });

export const ConnectionView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  type: Type.String(),
  category: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused')]),
  config: ConfigObject,
  settings: Settings,
  streams_configured: Type.Integer(),
  last_test: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const ConnectionCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.String({ minLength: 1, maxLength: 64 }),
  config: ConfigObject,
  settings: Type.Optional(Settings),
}, { additionalProperties: false });

export const ConnectionUpdate = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the full config; omit a secret (or send ********) to keep it, send null to remove it' })),
  settings: Type.Optional(Settings),
}, { additionalProperties: false, minProperties: 1 });

export const CheckOutcome = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Integer(),
  details: Type.Record(Type.String(), Type.Unknown()),
  error: Type.Union([
    Type.Object({ code: Type.String(), kind: Type.String(), message: Type.String(), hint: Type.String() }),
    Type.Null(),
  ]),
});

const CatalogField = Type.Object({
  name: Type.String(),
  type: Type.String(),
  sourceType: Type.String(),
  nullable: Type.Boolean(),
  suggestedSensitivity: Sensitivity,
  description: Type.Optional(Type.String()),
  frequency: Type.Optional(Type.Number()),
});
const CatalogStream = Type.Object({
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
  kind: Type.String(),
  fields: Type.Array(CatalogField),
  primaryKey: Type.Array(Type.String()),
  cursorCandidates: Type.Array(Type.String()),
  relations: Type.Array(Type.Object({ name: Type.Optional(Type.String()), fields: Type.Array(Type.String()), references: Type.Object({ stream: Type.String(), namespace: Type.Optional(Type.String()), fields: Type.Array(Type.String()) }) })),
  supportedSyncModes: Type.Array(SyncMode),
  estimatedRows: Type.Optional(Type.Number()),
  description: Type.Optional(Type.String()),
  entries: Type.Optional(Type.Record(Type.String(), Type.String())),
});
const CatalogDiff = Type.Object({
  has_previous: Type.Boolean(),
  added_streams: Type.Array(Type.String()),
  removed_streams: Type.Array(Type.String()),
  changed_streams: Type.Array(Type.Object({
    stream: Type.String(),
    added_fields: Type.Array(Type.String()),
    removed_fields: Type.Array(Type.String()),
    changed_fields: Type.Array(Type.Object({ name: Type.String(), changes: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() })) })),
    primary_key: Type.Optional(Type.Object({ from: Type.Array(Type.String()), to: Type.Array(Type.String()) })),
    added_entries: Type.Optional(Type.Array(Type.String())),
    removed_entries: Type.Optional(Type.Array(Type.String())),
    changed_entries: Type.Optional(Type.Array(Type.String())),
  })),
});
export const CatalogView = Type.Object({
  connection_id: Type.String(),
  version: Type.Integer(),
  discovered_at: Type.String({ format: 'date-time' }),
  streams: Type.Array(CatalogStream),
  diff: CatalogDiff,
});

const FieldMapping = Type.Object({ name: Type.String(), target: Type.String(), sensitivity: Sensitivity, publish: Type.Boolean() });
export const StreamMappingView = Type.Object({
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
  target_name: Type.String(),
  sync_mode: SyncMode,
  cursor_field: Type.Optional(Type.String()),
  primary_key: Type.Array(Type.String()),
  fields: Type.Array(FieldMapping),
});
export const StreamsInput = Type.Object({
  streams: Type.Array(Type.Object({
    name: Type.String({ minLength: 1 }),
    namespace: Type.Optional(Type.String()),
    target_name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    sync_mode: Type.Optional(SyncMode),
    cursor_field: Type.Optional(Type.String()),
    primary_key: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    fields: Type.Optional(Type.Array(Type.Object({
      name: Type.String({ minLength: 1 }),
      target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      sensitivity: Type.Optional(Sensitivity),
      publish: Type.Optional(Type.Boolean({ description: 'publish a restricted field (default: restricted fields are not published)' })),
    }, { additionalProperties: false }), { minItems: 1 })),
  }, { additionalProperties: false }), { maxItems: 1000 }),
}, { additionalProperties: false });
