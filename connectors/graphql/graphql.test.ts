/**
 * The GraphQL connector against a real GraphQL server (graphql + graphql-http, test/fakes/
 * graphql-server.ts) on 127.0.0.1: the introspected catalog against the server's own schema
 * object, the SDL path giving the same data, 5,000 nodes through Relay paging each exactly once,
 * offset paging, incremental reads, and GraphQL errors reported clearly even with HTTP 200.
 */
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  printSchema,
  type GraphQLNamedType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { startGraphqlServer, TEST_SDL, type GraphqlServer } from '../../test/fakes/graphql-server.ts';
import type { ConfiguredStream } from '../sdk/types.ts';
import connector from './index.ts';

const TOKEN = 'gql-token-123456';
let server: GraphqlServer;
beforeAll(async () => {
  server = await startGraphqlServer({ users: 5000, token: TOKEN });
});
afterAll(() => server.close());

const RELAY_QUERY = `query Users($first: Int, $after: String, $since: String) {
  users(first: $first, after: $after, updatedSince: $since) {
    edges { node { id email name role active updatedAt score groups { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const base = (over: Record<string, unknown> = {}) => ({ endpoint: `${server.url}/graphql`, authType: 'bearer', bearerToken: TOKEN, ...over });
const relayStream = (over: Record<string, unknown> = {}) => ({ name: 'users', query: RELAY_QUERY, recordsPath: '$.data.users', paging: 'relay', pageSize: 100, ...over });
const configured = (name: string, over: Partial<ConfiguredStream> = {}): ConfiguredStream => ({ name, fields: [], primaryKey: ['id'], syncMode: 'full', ...over });
const read = (cfg: unknown, streams: ConfiguredStream[], state: Record<string, Record<string, unknown>> = {}) =>
  collect(connector.read(cfg as never, { streams }, testReadContext({ state })));

/** `(line L, column C)` of the first occurrence of `word` in `text`, as GraphQL reports locations */
function locate(text: string, word: string): string {
  const before = text.slice(0, text.indexOf(word)).split('\n');
  return `(line ${before.length}, column ${before.at(-1)!.length + 1})`;
}

const schemaTypes = (): GraphQLNamedType[] => Object.values(server.schema.getTypeMap()).filter((t) => !t.name.startsWith('__'));
const kindOf = (t: GraphQLNamedType) =>
  isObjectType(t) ? 'OBJECT' : isInterfaceType(t) ? 'INTERFACE' : isUnionType(t) ? 'UNION' : isEnumType(t) ? 'ENUM' : isInputObjectType(t) ? 'INPUT_OBJECT' : 'SCALAR';
const byKey = (records: Array<Record<string, unknown>>, key = 'key') => Object.fromEntries(records.map((r) => [r[key] as string, r]));

describe('graphql discovery by introspection', () => {
  let schemaRecords: Record<string, Array<Record<string, unknown>>>;
  const SCHEMA_STREAMS = ['types', 'fields', 'arguments', 'enum_values', 'interfaces', 'directives'];

  beforeAll(async () => {
    const messages = await read(base(), SCHEMA_STREAMS.map((n) => configured(n, { primaryKey: n === 'types' || n === 'directives' ? ['name'] : ['key'] })));
    schemaRecords = Object.fromEntries(SCHEMA_STREAMS.map((n) => [n, recordsOf(messages, n)]));
  });

  it('lists the schema streams with their keys, and the configured resource streams', async () => {
    const { streams } = await connector.discover(base({ streams: [relayStream()] }) as never, testContext());
    expect(streams.map((s) => [s.name, s.primaryKey])).toEqual([
      ['types', ['name']],
      ['fields', ['key']],
      ['arguments', ['key']],
      ['enum_values', ['key']],
      ['interfaces', ['key']],
      ['directives', ['name']],
      ['users', ['id']],
    ]);
  });

  it('types: every named type of the server schema with its kind, interfaces and members', () => {
    const expected = schemaTypes();
    const got = byKey(schemaRecords.types!, 'name');
    expect(Object.keys(got).sort()).toEqual(expected.map((t) => t.name).sort());
    for (const t of expected) {
      expect(got[t.name]!.kind, t.name).toBe(kindOf(t));
      if (isObjectType(t) || isInterfaceType(t)) expect(got[t.name]!.interfaces, t.name).toEqual(t.getInterfaces().map((i) => i.name));
      if (isUnionType(t)) expect(got[t.name]!.possible_types).toEqual(t.getTypes().map((m) => m.name));
      expect(got[t.name]!.description ?? null, t.name).toBe(t.description ?? null);
    }
  });

  it('fields: every field of every object, interface and input type with its type reference and deprecation', () => {
    const expected = schemaTypes().flatMap((t) =>
      isObjectType(t) || isInterfaceType(t) || isInputObjectType(t) ? Object.values(t.getFields()).map((f) => ({ key: `${t.name}.${f.name}`, type: String(f.type), deprecated: Boolean(f.deprecationReason) })) : [],
    );
    const got = byKey(schemaRecords.fields!);
    expect(Object.keys(got).sort()).toEqual(expected.map((f) => f.key).sort());
    for (const f of expected) expect({ key: f.key, type: got[f.key]!.type, deprecated: got[f.key]!.deprecated }).toEqual(f);
    expect(got['User.legacyId']).toMatchObject({ deprecated: true, deprecation_reason: 'Use id.' });
    expect(got['Query.users']).toMatchObject({ type: 'UserConnection!', arguments: ['first', 'after', 'updatedSince', 'filter'] });
  });

  it('arguments, enum values, interfaces and directives match the schema', () => {
    const args = byKey(schemaRecords.arguments!);
    for (const t of schemaTypes()) {
      if (!(isObjectType(t) || isInterfaceType(t))) continue;
      for (const f of Object.values(t.getFields())) for (const a of f.args) expect(args[`${t.name}.${f.name}(${a.name})`]?.type, `${t.name}.${f.name}(${a.name})`).toBe(String(a.type));
    }
    expect(args['Group.members(first)']).toMatchObject({ type: 'Int', default_value: '10' });
    expect(args['@auth(requires)']).toMatchObject({ type: 'Role', default_value: 'ADMIN' });

    const role = server.schema.getType('Role');
    if (!isEnumType(role)) throw new Error('Role is not an enum');
    expect(schemaRecords.enum_values!.filter((v) => v.enum === 'Role').map((v) => [v.value, v.deprecated])).toEqual(role.getValues().map((v) => [v.name, Boolean(v.deprecationReason)]));

    const node = server.schema.getType('Node');
    if (!isInterfaceType(node)) throw new Error('Node is not an interface');
    expect(schemaRecords.interfaces!.map((r) => r.key).sort()).toEqual(server.schema.getPossibleTypes(node).map((t) => `Node:${t.name}`).sort());

    const directives = byKey(schemaRecords.directives!, 'name');
    expect(Object.keys(directives).sort()).toEqual(server.schema.getDirectives().map((d) => d.name).sort());
    expect(directives.auth).toMatchObject({ repeatable: true, locations: ['FIELD_DEFINITION', 'OBJECT'], arguments: ['requires'] });
  });

  it('the same schema from an SDL document gives the same records, without calling the endpoint', async () => {
    const before = server.requests;
    const messages = await read({ schemaSource: 'sdl', sdl: TEST_SDL }, ['types', 'fields', 'enum_values', 'interfaces'].map((n) => configured(n)));
    expect(server.requests).toBe(before);
    for (const n of ['types', 'fields', 'enum_values', 'interfaces']) expect(recordsOf(messages, n), n).toEqual(schemaRecords[n]);
  });

  it('an invalid SDL document is a config error naming line and column', async () => {
    await expect(connector.check({ schemaSource: 'sdl', sdl: 'type Query {\n  users: [User!\n}' } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/^graphql: the SDL document is invalid: Syntax Error: .* \(line 3, column 1\)$/),
    });
  });

  it('check makes a real authenticated call, and a wrong token is an auth error', async () => {
    expect(await connector.check(base() as never, testContext())).toEqual({ endpoint: server.url, queryType: 'Query' });
    await expect(connector.check(base({ bearerToken: 'wrong-token-0000' }) as never, testContext())).rejects.toMatchObject({
      kind: 'auth',
      message: 'graphql: POST /graphql answered 401 UNAUTHENTICATED: Invalid or missing token',
    });
  });

  it('the sampled resource stream has the node fields', async () => {
    const { streams } = await connector.discover(base({ streams: [relayStream({ incremental: { cursorField: 'updatedAt', variable: 'since' } })], sampleSize: 150 }) as never, testContext());
    const users = streams.find((s) => s.name === 'users')!;
    expect(users.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'string'],
      ['email', 'string'],
      ['name', 'string'],
      ['role', 'string'],
      ['active', 'boolean'],
      ['updatedAt', 'datetime'],
      ['score', 'number'],
      ['groups', 'array'],
    ]);
    expect(users.fields.find((f) => f.name === 'name')!.nullable).toBe(true);
    expect(users).toMatchObject({ kind: 'endpoint', cursorCandidates: ['updatedAt'], supportedSyncModes: ['full', 'incremental'] });
  });
});

describe('graphql reads', () => {
  it('a Relay-paged read of 5,000 nodes returns each exactly once', async () => {
    const before = server.requests;
    const messages = await read(base({ streams: [relayStream()] }), [configured('users')]);
    const ids = recordsOf(messages, 'users').map((r) => r.id as string);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids)).toEqual(new Set(server.users.map((u) => u.id)));
    expect(server.requests - before).toBe(50);
    expect(recordsOf(messages, 'users')[1]).toEqual({ ...server.users[1], __typename: undefined, manager: undefined, legacyId: undefined, groups: [{ id: 'g2', name: 'Finance' }] });
  });

  it('a page size above the server maximum still reads everything (the cursor decides)', async () => {
    const messages = await read(base({ streams: [relayStream({ pageSize: 500 })] }), [configured('users', { fields: ['email'] })]);
    const records = recordsOf(messages, 'users');
    expect(new Set(records.map((r) => r.id)).size).toBe(5000);
    expect(records[0]).toEqual({ id: 'u1', email: 'user1@example.com' });
  });

  it('offset paging by variables reads every node once', async () => {
    const stream = { name: 'page', query: 'query($limit: Int!, $offset: Int) { usersPage(limit: $limit, offset: $offset) { id email } }', recordsPath: '$.data.usersPage', paging: 'offset', pageSize: 100 };
    const messages = await read(base({ streams: [stream] }), [configured('page')]);
    const ids = recordsOf(messages, 'page').map((r) => r.id);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
  });

  it('incremental: the second run passes the saved cursor and reads only the changes', async () => {
    const cfg = base({ streams: [relayStream({ incremental: { cursorField: 'updatedAt', variable: 'since' } })] });
    const stream = configured('users', { syncMode: 'incremental', cursorField: 'updatedAt' });
    const first = await read(cfg, [stream]);
    expect(recordsOf(first)).toHaveLength(5000);
    const state = statesOf(first, 'users')[0]!;
    const maxBefore = server.users.map((u) => u.updatedAt).sort().at(-1);
    expect(state).toEqual({ cursorField: 'updatedAt', cursor: maxBefore });
    server.touch(['u10', 'u4000'], '2027-01-01T00:00:00.000Z');
    const second = await read(cfg, [stream], { users: state });
    const atBoundary = server.users.filter((u) => u.updatedAt === maxBefore).map((u) => u.id);
    expect(recordsOf(second).map((r) => r.id).sort()).toEqual(['u10', 'u4000', ...atBoundary].sort());
    expect(statesOf(second, 'users')[0]!.cursor).toBe('2027-01-01T00:00:00.000Z');
  });
});

describe('graphql errors', () => {
  it('a failing resolver with HTTP 200 fails the read, naming the path and location', async () => {
    const stream = { name: 'broken', query: 'query { broken }', recordsPath: '$.data', paging: 'none', primaryKey: ['broken'] };
    await expect(read(base({ streams: [stream] }), [configured('broken', { primaryKey: ['broken'] })])).rejects.toMatchObject({
      kind: 'protocol',
      message: `graphql: POST /graphql answered 200 the broken resolver failed at broken ${locate('query { broken }', 'broken')}`,
    });
  });

  it('a query the server rejects is a config error with the server message, even at read time', async () => {
    const query = RELAY_QUERY.replace('score', 'salary');
    await expect(read(base({ streams: [relayStream({ query })] }), [configured('users')])).rejects.toMatchObject({
      kind: 'config',
      message: `graphql: POST /graphql answered 200 Cannot query field "salary" on type "User". ${locate(query, 'salary')}`,
    });
  });

  it('discover checks each query against the schema, its paging variables and pageInfo', async () => {
    const bad = async (over: Record<string, unknown>) => connector.discover(base({ streams: [relayStream(over)] }) as never, testContext()).then(() => undefined, (e: Error) => e);
    const misspelt = RELAY_QUERY.replace('email', 'mail');
    expect(await bad({ query: misspelt })).toMatchObject({
      kind: 'config',
      message: `graphql: stream users: the query is not valid for the schema: Cannot query field "mail" on type "User". Did you mean "email"? ${locate(misspelt, 'mail')}`,
    });
    expect(await bad({ query: RELAY_QUERY.replace('{ hasNextPage endCursor }', '{ hasNextPage }') })).toMatchObject({
      kind: 'config',
      message: 'graphql: stream users: a Relay query must select pageInfo { hasNextPage endCursor }',
    });
    expect(await bad({ afterVariable: 'cursor' })).toMatchObject({ kind: 'config', message: 'graphql: stream users: the query must declare $cursor (relay paging)' });
    expect(await bad({ query: 'query { users( }' })).toMatchObject({ kind: 'config', message: expect.stringContaining('stream users: the query does not parse: Syntax Error') });
    expect(await bad({ name: 'types' })).toMatchObject({ kind: 'config', message: expect.stringContaining('stream name types is reserved') });
  });
});

it('the test schema is the SDL the server was built from', () => {
  expect(printSchema(server.schema)).toContain('directive @auth(requires: Role = ADMIN) repeatable on FIELD_DEFINITION | OBJECT');
});
