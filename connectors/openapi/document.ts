/**
 * An OpenAPI document as data, for the same questions policies ask: which scopes does
 * `DELETE /orders/{id}` need (endpoints keyed `METHOD path`), what does a security scheme grant
 * (security_schemes), what does a model hold (models with their fields). Swagger 2.0 and OpenAPI
 * 3.0 / 3.1 give the same record shapes; internal `$ref`s are followed, never recursed into.
 */
import { staticStream } from '../sdk/api-catalog.ts';
import type { CatalogStream } from '../sdk/types.ts';
import type { OpenApiDocument } from './client.ts';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const obj = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** drops null/undefined values: the OPA document carries no nulls */
function compact(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** Follows internal `$ref`s (`#/…`) of the bundled document. */
export function deref(doc: OpenApiDocument, value: unknown, depth = 0): Json | undefined {
  const o = obj(value);
  const ref = o && str(o.$ref);
  if (!o || !ref || depth > 20) return o;
  if (!ref.startsWith('#/')) return o;
  const target = ref
    .slice(2)
    .split('/')
    .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((cur, key) => obj(cur)?.[key], doc);
  return deref(doc, target, depth + 1);
}

/** `#/components/schemas/Pet` → `Pet`; other pointers stay pointers */
export function refName(ref: string): string {
  const m = /^#\/(?:components\/schemas|definitions)\/([^/]+)$/.exec(ref);
  return m ? decodeURIComponent(m[1]!).replace(/~1/g, '/').replace(/~0/g, '~') : ref;
}

export const OPENAPI_STREAMS: CatalogStream[] = [
  staticStream({
    name: 'endpoints',
    kind: 'endpoint',
    description: 'Every operation, keyed `METHOD path`, with the scopes each security requirement asks for.',
    primaryKey: ['key'],
    fields: [
      { name: 'key', type: 'string', description: 'METHOD path, e.g. DELETE /orders/{id}' },
      { name: 'method', type: 'string' },
      { name: 'path', type: 'string' },
      { name: 'operation_id', type: 'string' },
      { name: 'tags', type: 'array' },
      { name: 'summary', type: 'string' },
      { name: 'deprecated', type: 'boolean', nullable: false },
      { name: 'security', type: 'array', description: 'alternatives (any one suffices); each maps scheme → scopes, all of which are needed' },
      { name: 'scopes', type: 'array', description: 'every scope any alternative names' },
      { name: 'security_schemes', type: 'array' },
      { name: 'public', type: 'boolean', nullable: false, description: 'callable without credentials' },
      { name: 'parameters', type: 'array', description: 'name (in)' },
      { name: 'webhook', type: 'boolean', nullable: false, description: 'an OpenAPI 3.1 webhook the API calls, not an operation it serves' },
    ],
  }),
  staticStream({
    name: 'security_schemes',
    description: 'Security schemes (Swagger securityDefinitions, OpenAPI components.securitySchemes) with their flows and scopes.',
    primaryKey: ['name'],
    fields: [
      { name: 'name', type: 'string' },
      { name: 'type', type: 'string', description: 'oauth2, apiKey, http, openIdConnect, mutualTLS, basic' },
      { name: 'description', type: 'string' },
      { name: 'scheme', type: 'string' },
      { name: 'bearer_format', type: 'string' },
      { name: 'in', type: 'string' },
      { name: 'parameter_name', type: 'string' },
      { name: 'flows', type: 'array' },
      { name: 'scopes', type: 'array' },
      { name: 'scope_descriptions', type: 'object' },
      { name: 'authorization_url', type: 'string' },
      { name: 'token_url', type: 'string' },
      { name: 'openid_connect_url', type: 'string' },
    ],
  }),
  staticStream({
    name: 'models',
    description: 'Schemas (components.schemas, definitions) with their fields.',
    primaryKey: ['name'],
    fields: [
      { name: 'name', type: 'string' },
      { name: 'type', type: 'string' },
      { name: 'description', type: 'string' },
      { name: 'required', type: 'array' },
      { name: 'extends', type: 'array', description: 'models an allOf composes' },
      { name: 'field_names', type: 'array' },
      { name: 'fields', type: 'array', description: '{ name, type, format, ref, items, required, nullable, enum, description }' },
    ],
  }),
];

export const OPENAPI_STREAM_NAMES = new Set(OPENAPI_STREAMS.map((s) => s.name));

interface SecurityRequirement {
  [scheme: string]: string[];
}

function securityOf(value: unknown): SecurityRequirement[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((req) => Object.fromEntries(Object.entries(obj(req) ?? {}).map(([scheme, scopes]) => [scheme, strings(scopes)])));
}

function parameterNames(doc: OpenApiDocument, ...lists: unknown[]): string[] {
  const seen = new Map<string, string>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const p = deref(doc, raw);
      const name = str(p?.name);
      if (name) seen.set(`${name}|${String(p?.in)}`, `${name} (${String(p?.in ?? '?')})`);
    }
  }
  return [...seen.values()];
}

function* operationsOf(doc: OpenApiDocument, pathItems: unknown, webhook: boolean): Generator<Json> {
  const globalSecurity = securityOf(doc.security) ?? [];
  for (const [path, rawItem] of Object.entries(obj(pathItems) ?? {})) {
    const item = deref(doc, rawItem);
    if (!item) continue;
    for (const method of METHODS) {
      const op = deref(doc, item[method]);
      if (!op) continue;
      const security = securityOf(op.security) ?? globalSecurity;
      const scopes = [...new Set(security.flatMap((req) => Object.values(req).flat()))].sort();
      const schemes = [...new Set(security.flatMap((req) => Object.keys(req)))].sort();
      const upper = method.toUpperCase();
      yield compact({
        key: `${upper} ${path}`,
        method: upper,
        path,
        operation_id: str(op.operationId),
        tags: strings(op.tags),
        summary: str(op.summary),
        deprecated: op.deprecated === true,
        security,
        scopes,
        security_schemes: schemes,
        public: security.length === 0 || security.some((req) => Object.keys(req).length === 0),
        parameters: parameterNames(doc, item.parameters, op.parameters),
        webhook,
      });
    }
  }
}

export function* endpointRecords(doc: OpenApiDocument): Generator<Json> {
  yield* operationsOf(doc, doc.paths, false);
  yield* operationsOf(doc, doc.webhooks, true);
}

function flowsOf(scheme: Json): Array<[string, Json]> {
  const flows = obj(scheme.flows);
  if (flows) return Object.entries(flows).flatMap(([name, f]) => (obj(f) ? [[name, obj(f)!] as [string, Json]] : []));
  // Swagger 2.0: one flow on the scheme itself
  return str(scheme.flow) ? [[str(scheme.flow)!, scheme]] : [];
}

export function* securitySchemeRecords(doc: OpenApiDocument): Generator<Json> {
  const schemes = obj(obj(doc.components)?.securitySchemes) ?? obj(doc.securityDefinitions) ?? {};
  for (const [name, raw] of Object.entries(schemes)) {
    const s = deref(doc, raw);
    if (!s) continue;
    const flows = flowsOf(s);
    const descriptions: Record<string, string> = {};
    for (const [, f] of flows) for (const [scope, text] of Object.entries(obj(f.scopes) ?? {})) descriptions[scope] ??= String(text ?? '');
    const first = (key: string) => flows.map(([, f]) => str(f[key])).find(Boolean);
    yield compact({
      name,
      type: str(s.type),
      description: str(s.description),
      scheme: str(s.scheme),
      bearer_format: str(s.bearerFormat),
      in: str(s.in),
      parameter_name: s.type === 'apiKey' ? str(s.name) : undefined,
      flows: flows.length ? flows.map(([n]) => n) : undefined,
      scopes: flows.length ? Object.keys(descriptions).sort() : undefined,
      scope_descriptions: flows.length ? descriptions : undefined,
      authorization_url: first('authorizationUrl'),
      token_url: first('tokenUrl'),
      openid_connect_url: str(s.openIdConnectUrl),
    });
  }
}

/** type, format, ref and nullability of one property schema (3.1 type arrays included) */
function describeProperty(doc: OpenApiDocument, schema: Json): Json {
  const ref = str(schema.$ref);
  if (ref) {
    const target = deref(doc, schema);
    return { type: str(target?.type) ?? 'object', ref: refName(ref) };
  }
  const types = Array.isArray(schema.type) ? strings(schema.type) : str(schema.type) ? [str(schema.type)!] : [];
  const type = types.filter((t) => t !== 'null');
  const items = obj(schema.items);
  return compact({
    type: type.length === 1 ? type[0] : type.length ? type.join('|') : schema.allOf || schema.oneOf || schema.anyOf ? 'composed' : schema.properties ? 'object' : 'any',
    format: str(schema.format),
    items: items ? (str(items.$ref) ? refName(str(items.$ref)!) : str(items.type)) : undefined,
    nullable: schema.nullable === true || types.includes('null') || schema['x-nullable'] === true ? true : undefined,
    enum: Array.isArray(schema.enum) ? schema.enum.map(String) : undefined,
    description: str(schema.description),
  });
}

function modelRecord(doc: OpenApiDocument, name: string, schema: Json): Json {
  const properties: Array<[string, Json]> = [];
  const required = new Set(strings(schema.required));
  const parents: string[] = [];
  const collect = (s: Json) => {
    for (const [prop, raw] of Object.entries(obj(s.properties) ?? {})) if (obj(raw)) properties.push([prop, obj(raw)!]);
    for (const r of strings(s.required)) required.add(r);
  };
  collect(schema);
  for (const part of Array.isArray(schema.allOf) ? schema.allOf : []) {
    const p = obj(part);
    if (!p) continue;
    if (str(p.$ref)) parents.push(refName(str(p.$ref)!));
    else collect(p);
  }
  const fields = properties.map(([prop, s]) => compact({ name: prop, ...describeProperty(doc, s), required: required.has(prop) }));
  const types = Array.isArray(schema.type) ? strings(schema.type).filter((t) => t !== 'null') : [];
  return compact({
    name,
    type: str(schema.type) ?? (types.length ? types.join('|') : parents.length || schema.allOf ? 'object' : properties.length ? 'object' : undefined),
    description: str(schema.description),
    required: [...required],
    extends: parents.length ? parents : undefined,
    field_names: fields.map((f) => f.name),
    fields,
  });
}

export function* modelRecords(doc: OpenApiDocument): Generator<Json> {
  const schemas = obj(obj(doc.components)?.schemas) ?? obj(doc.definitions) ?? {};
  for (const [name, raw] of Object.entries(schemas)) {
    const schema = deref(doc, raw);
    if (schema) yield modelRecord(doc, name, schema);
  }
}

const RECORDS: Record<string, (doc: OpenApiDocument) => Generator<Json>> = {
  endpoints: endpointRecords,
  security_schemes: securitySchemeRecords,
  models: modelRecords,
};

/** What a discovery diff compares per entry: security and deprecation, scheme scopes, model fields. */
const FINGERPRINTS: Record<string, (r: Json) => string> = {
  endpoints: (r) => {
    const security = (r.security as SecurityRequirement[]).map((req) => Object.entries(req).map(([s, scopes]) => `${s}[${scopes.join(' ')}]`).join(' + ') || 'anonymous');
    return `security: ${security.join(' | ') || 'none'}${r.deprecated ? '; deprecated' : ''}`;
  },
  security_schemes: (r) => `${String(r.type)}${r.flows ? ` ${(r.flows as string[]).join(',')}` : ''}${r.scopes ? `; scopes: ${(r.scopes as string[]).join(' ')}` : ''}`,
  models: (r) => `fields: ${(r.fields as Json[]).map((f) => `${String(f.name)}:${String(f.ref ?? f.type)}${f.required ? '!' : ''}`).join(', ')}`,
};

/** entry key → fingerprint for a stream, for `CatalogStream.entries` */
export function documentEntries(stream: string, doc: OpenApiDocument): Record<string, string> {
  const key = stream === 'endpoints' ? 'key' : 'name';
  const fingerprint = FINGERPRINTS[stream]!;
  return Object.fromEntries([...documentRecords(stream, doc)].map((r) => [String(r[key]), fingerprint(r)]));
}

export function documentRecords(stream: string, doc: OpenApiDocument): Generator<Json> {
  const make = RECORDS[stream];
  if (!make) throw new Error(`no OpenAPI stream ${stream}`);
  return make(doc);
}
