/**
 * GraphQL catalog: the schema streams (types, fields, arguments, enum values, interfaces,
 * directives) and one endpoint stream per configured query, whose query is first checked against
 * the schema (errors name line and column) and whose fields are inferred from sampled records.
 */
import { GraphQLError, Kind, parse, validate, visit, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { sampleRecordPages, sampledStream } from '../sdk/api-catalog.ts';
import { SourceError } from '../sdk/errors.ts';
import type { CatalogStream } from '../sdk/types.ts';
import { documentError, SOURCE, type GraphqlClient } from './client.ts';
import { SCHEMA_STREAM_NAMES, SCHEMA_STREAMS } from './schema-streams.ts';
import type { GraphqlStream } from './spec.ts';

function declaredVariables(doc: DocumentNode): Set<string> {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return new Set((op?.variableDefinitions ?? []).map((v) => v.variable.name.value));
}

function selectsPageInfo(doc: DocumentNode): boolean {
  let found = false;
  visit(doc, {
    Field(node) {
      if (node.name.value !== 'pageInfo' || !node.selectionSet) return;
      const names = new Set(node.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : [])));
      if (names.has('hasNextPage') && names.has('endCursor')) found = true;
    },
  });
  return found;
}

/** The stream's query parsed and valid against the schema, with the variables its paging needs. */
export function checkStreamQuery(schema: GraphQLSchema, stream: GraphqlStream): void {
  let doc: DocumentNode;
  try {
    doc = parse(stream.query);
  } catch (err) {
    throw documentError(`stream ${stream.name}: the query does not parse`, [err as GraphQLError]);
  }
  const errors = validate(schema, doc);
  if (errors.length > 0) throw documentError(`stream ${stream.name}: the query is not valid for the schema`, errors);
  const declared = declaredVariables(doc);
  const needed = { relay: [stream.firstVariable, stream.afterVariable], offset: [stream.limitVariable, stream.offsetVariable], none: [] }[stream.paging];
  const missing = [...needed, ...(stream.incremental ? [stream.incremental.variable] : [])].filter((v) => !declared.has(v));
  if (missing.length > 0) {
    throw new SourceError(SOURCE, `stream ${stream.name}: the query must declare ${missing.map((v) => `$${v}`).join(', ')} (${stream.paging} paging${stream.incremental ? ', incremental' : ''})`, {
      kind: 'config',
    });
  }
  if (stream.paging === 'relay' && !selectsPageInfo(doc)) {
    throw new SourceError(SOURCE, `stream ${stream.name}: a Relay query must select pageInfo { hasNextPage endCursor }`, { kind: 'config' });
  }
}

export function assertStreamNames(streams: GraphqlStream[]): void {
  const clash = streams.find((s) => SCHEMA_STREAM_NAMES.has(s.name));
  if (clash) throw new SourceError(SOURCE, `stream name ${clash.name} is reserved for the schema streams (${[...SCHEMA_STREAM_NAMES].join(', ')})`, { kind: 'config' });
}

export async function discoverGraphql(client: GraphqlClient): Promise<CatalogStream[]> {
  assertStreamNames(client.config.streams);
  const schema = await client.schema();
  const streams = [...SCHEMA_STREAMS];
  for (const stream of client.config.streams) {
    checkStreamQuery(schema, stream);
    const sampler = await sampleRecordPages(client.pages(stream), client.config.sampleSize);
    streams.push(sampledStream({ source: SOURCE, name: stream.name, sampler, primaryKey: stream.primaryKey, cursorField: stream.incremental?.cursorField }));
  }
  return streams;
}
