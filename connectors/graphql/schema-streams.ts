/**
 * A GraphQL schema as data: types, fields, arguments, enum values, interface implementations and
 * directives, each a stream keyed for lookups (`User.email`, `Query.users(first)`, `Role.ADMIN`),
 * so a policy can ask "is this field deprecated" or "which types implement Node".
 */
import {
  astFromValue,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  print,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { staticStream } from '../sdk/api-catalog.ts';
import type { CatalogStream } from '../sdk/types.ts';

type Json = Record<string, unknown>;

export const SCHEMA_STREAMS: CatalogStream[] = [
  staticStream({
    name: 'types',
    description: 'Every named type of the schema (introspection types excepted).',
    primaryKey: ['name'],
    fields: [
      { name: 'name', type: 'string' },
      { name: 'kind', type: 'string', description: 'OBJECT, INTERFACE, UNION, ENUM, INPUT_OBJECT or SCALAR' },
      { name: 'description', type: 'string' },
      { name: 'fields', type: 'array', description: 'field names (objects, interfaces, input objects)' },
      { name: 'interfaces', type: 'array', description: 'interfaces the type implements' },
      { name: 'possible_types', type: 'array', description: 'members of a union, implementations of an interface' },
      { name: 'enum_values', type: 'array' },
    ],
  }),
  staticStream({
    name: 'fields',
    description: 'Fields of object, interface and input types, keyed `Type.field`.',
    primaryKey: ['key'],
    fields: [
      { name: 'key', type: 'string' },
      { name: 'type_name', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'type', type: 'string', description: 'GraphQL type reference, e.g. [Group!]!' },
      { name: 'arguments', type: 'array' },
      { name: 'deprecated', type: 'boolean', nullable: false },
      { name: 'deprecation_reason', type: 'string' },
      { name: 'description', type: 'string' },
    ],
  }),
  staticStream({
    name: 'arguments',
    description: 'Arguments of fields (`Type.field(arg)`) and directives (`@directive(arg)`).',
    primaryKey: ['key'],
    fields: [
      { name: 'key', type: 'string' },
      { name: 'owner', type: 'string', description: 'Type.field or @directive' },
      { name: 'name', type: 'string' },
      { name: 'type', type: 'string' },
      { name: 'default_value', type: 'string' },
      { name: 'deprecated', type: 'boolean', nullable: false },
      { name: 'description', type: 'string' },
    ],
  }),
  staticStream({
    name: 'enum_values',
    description: 'Values of enum types, keyed `Enum.VALUE`.',
    primaryKey: ['key'],
    fields: [
      { name: 'key', type: 'string' },
      { name: 'enum', type: 'string' },
      { name: 'value', type: 'string' },
      { name: 'deprecated', type: 'boolean', nullable: false },
      { name: 'deprecation_reason', type: 'string' },
      { name: 'description', type: 'string' },
    ],
  }),
  staticStream({
    name: 'interfaces',
    description: 'Which types implement which interface, keyed `Interface:Type`.',
    primaryKey: ['key'],
    kind: 'relation',
    fields: [
      { name: 'key', type: 'string' },
      { name: 'interface', type: 'string' },
      { name: 'type', type: 'string' },
    ],
  }),
  staticStream({
    name: 'directives',
    description: 'Directives the schema declares, built-in ones included.',
    primaryKey: ['name'],
    fields: [
      { name: 'name', type: 'string' },
      { name: 'description', type: 'string' },
      { name: 'locations', type: 'array' },
      { name: 'arguments', type: 'array' },
      { name: 'repeatable', type: 'boolean', nullable: false },
    ],
  }),
];

export const SCHEMA_STREAM_NAMES = new Set(SCHEMA_STREAMS.map((s) => s.name));

/** drops null/undefined values: the OPA document carries no nulls */
function compact(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

function defaultValue(arg: GraphQLArgument | { defaultValue: unknown; type: GraphQLInputType }): string | undefined {
  if (arg.defaultValue === undefined) return undefined;
  const ast = astFromValue(arg.defaultValue, arg.type);
  return ast ? print(ast) : undefined;
}

export function namedTypes(schema: GraphQLSchema): GraphQLNamedType[] {
  return Object.values(schema.getTypeMap())
    .filter((t) => !t.name.startsWith('__'))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function kindOf(t: GraphQLNamedType): string {
  if (isObjectType(t)) return 'OBJECT';
  if (isInterfaceType(t)) return 'INTERFACE';
  if (isUnionType(t)) return 'UNION';
  if (isEnumType(t)) return 'ENUM';
  if (isInputObjectType(t)) return 'INPUT_OBJECT';
  return 'SCALAR';
}

function* typeRecords(schema: GraphQLSchema): Generator<Json> {
  for (const t of namedTypes(schema)) {
    const fields = isObjectType(t) || isInterfaceType(t) || isInputObjectType(t) ? Object.keys(t.getFields()) : undefined;
    const interfaces = isObjectType(t) || isInterfaceType(t) ? t.getInterfaces().map((i) => i.name) : undefined;
    const possible = isUnionType(t) ? t.getTypes().map((m) => m.name) : isInterfaceType(t) ? schema.getPossibleTypes(t).map((m) => m.name) : undefined;
    yield compact({ name: t.name, kind: kindOf(t), description: t.description, fields, interfaces, possible_types: possible, enum_values: isEnumType(t) ? t.getValues().map((v) => v.name) : undefined });
  }
}

function* fieldRecords(schema: GraphQLSchema): Generator<Json> {
  for (const t of namedTypes(schema)) {
    if (!(isObjectType(t) || isInterfaceType(t) || isInputObjectType(t))) continue;
    for (const f of Object.values(t.getFields())) {
      const args = isInputObjectType(t) ? undefined : (f as GraphQLField<unknown, unknown>).args.map((a) => a.name);
      yield compact({
        key: `${t.name}.${f.name}`,
        type_name: t.name,
        name: f.name,
        type: String(f.type),
        arguments: args,
        deprecated: f.deprecationReason !== null && f.deprecationReason !== undefined,
        deprecation_reason: f.deprecationReason,
        description: f.description,
      });
    }
  }
}

function* argumentRecords(schema: GraphQLSchema): Generator<Json> {
  const arg = (owner: string, a: GraphQLArgument) =>
    compact({ key: `${owner}(${a.name})`, owner, name: a.name, type: String(a.type), default_value: defaultValue(a), deprecated: Boolean(a.deprecationReason), description: a.description });
  for (const t of namedTypes(schema)) {
    if (!(isObjectType(t) || isInterfaceType(t))) continue;
    for (const f of Object.values(t.getFields())) for (const a of f.args) yield arg(`${t.name}.${f.name}`, a);
  }
  for (const d of schema.getDirectives()) for (const a of d.args) yield arg(`@${d.name}`, a);
}

function* enumValueRecords(schema: GraphQLSchema): Generator<Json> {
  for (const t of namedTypes(schema)) {
    if (!isEnumType(t)) continue;
    for (const v of t.getValues()) {
      yield compact({ key: `${t.name}.${v.name}`, enum: t.name, value: v.name, deprecated: Boolean(v.deprecationReason), deprecation_reason: v.deprecationReason, description: v.description });
    }
  }
}

function* interfaceRecords(schema: GraphQLSchema): Generator<Json> {
  for (const t of namedTypes(schema)) {
    if (!isInterfaceType(t)) continue;
    for (const impl of schema.getPossibleTypes(t)) yield { key: `${t.name}:${impl.name}`, interface: t.name, type: impl.name };
  }
}

function* directiveRecords(schema: GraphQLSchema): Generator<Json> {
  for (const d of schema.getDirectives()) {
    yield compact({ name: d.name, description: d.description, locations: [...d.locations], arguments: d.args.map((a) => a.name), repeatable: d.isRepeatable });
  }
}

const RECORDS: Record<string, (schema: GraphQLSchema) => Generator<Json>> = {
  types: typeRecords,
  fields: fieldRecords,
  arguments: argumentRecords,
  enum_values: enumValueRecords,
  interfaces: interfaceRecords,
  directives: directiveRecords,
};

export function schemaRecords(stream: string, schema: GraphQLSchema): Generator<Json> {
  const make = RECORDS[stream];
  if (!make) throw new Error(`no schema stream ${stream}`);
  return make(schema);
}
