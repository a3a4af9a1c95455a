/**
 * A real GraphQL server for tests, built with `graphql` (schema, execution) and `graphql-http`
 * (the GraphQL-over-HTTP protocol) on node:http, 127.0.0.1: users behind a Relay connection
 * (`users(first, after, updatedSince)`) and an offset list (`usersPage(limit, offset)`), an
 * interface, a union, an enum with a deprecated value, an input type, a custom directive, a
 * resolver that fails (errors with HTTP 200), and bearer-token auth (401 otherwise).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/http';

export const TEST_SDL = /* GraphQL */ `
"""Marks fields only some roles may read."""
directive @auth(requires: Role = ADMIN) repeatable on FIELD_DEFINITION | OBJECT

"""Anything with a global id."""
interface Node {
  id: ID!
}

"""What a user may do."""
enum Role {
  ADMIN
  EDITOR
  VIEWER
  GUEST @deprecated(reason: "Use VIEWER.")
}

"""A person who can sign in."""
type User implements Node {
  id: ID!
  email: String!
  name: String
  role: Role!
  active: Boolean!
  updatedAt: String!
  score: Float
  groups: [Group!]!
  manager: User
  legacyId: Int @deprecated(reason: "Use id.")
}

type Group implements Node {
  id: ID!
  name: String!
  "Members, first ones only."
  members(first: Int = 10): [User!]! @auth(requires: EDITOR)
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type UserEdge {
  cursor: String!
  node: User!
}

type UserConnection {
  edges: [UserEdge!]!
  pageInfo: PageInfo!
  totalCount: Int!
}

input UserFilter {
  role: Role
  active: Boolean = true
}

union SearchResult = User | Group

type Query {
  "Users, Relay-paged, oldest id first."
  users(first: Int, after: String, updatedSince: String, filter: UserFilter): UserConnection!
  usersPage(limit: Int!, offset: Int = 0): [User!]!
  node(id: ID!): Node
  search(text: String!): [SearchResult!]!
  broken: String
}
`;

interface UserRow {
  __typename: 'User';
  id: string;
  email: string;
  name: string | null;
  role: string;
  active: boolean;
  updatedAt: string;
  score: number | null;
  groups: Array<{ __typename: 'Group'; id: string; name: string }>;
  manager: UserRow | null;
  legacyId: number;
}

export interface GraphqlServer {
  url: string;
  schema: GraphQLSchema;
  users: UserRow[];
  requests: number;
  /** largest `first` the server honours */
  maxPage: number;
  touch(ids: string[], at: string): void;
  close(): Promise<void>;
}

const ROLES = ['ADMIN', 'EDITOR', 'VIEWER'];
const GROUPS = [
  { __typename: 'Group' as const, id: 'g1', name: 'Engineering' },
  { __typename: 'Group' as const, id: 'g2', name: 'Finance' },
];

const encode = (i: number) => Buffer.from(`cursor:${i}`).toString('base64');
const decode = (c: string) => Number(Buffer.from(c, 'base64').toString('utf8').split(':')[1]);

export async function startGraphqlServer(opts: { users?: number; token?: string; maxPage?: number } = {}): Promise<GraphqlServer> {
  const schema = buildSchema(TEST_SDL);
  const users: UserRow[] = Array.from({ length: opts.users ?? 5000 }, (_, i) => ({
    __typename: 'User',
    id: `u${i + 1}`,
    email: `user${i + 1}@example.com`,
    name: i % 11 === 0 ? null : `User ${i + 1}`,
    role: ROLES[i % 3]!,
    active: i % 4 !== 0,
    updatedAt: new Date(Date.parse('2026-01-01T00:00:00Z') + Math.floor(i / 2) * 60_000).toISOString(),
    score: i % 5 === 0 ? null : i / 10,
    groups: [GROUPS[i % 2]!],
    manager: null,
    legacyId: i + 1,
  }));
  const state: GraphqlServer = {
    url: '',
    schema,
    users,
    requests: 0,
    maxPage: opts.maxPage ?? 100,
    touch(ids, at) {
      for (const u of users) if (ids.includes(u.id)) Object.assign(u, { name: `${u.name ?? 'someone'} (changed)`, updatedAt: at });
    },
    close: async () => undefined,
  };
  const selected = (updatedSince?: string) => (updatedSince ? users.filter((u) => u.updatedAt >= updatedSince) : users);
  const rootValue = {
    users: ({ first, after, updatedSince }: { first?: number; after?: string; updatedSince?: string }) => {
      const list = selected(updatedSince);
      const start = after ? decode(after) + 1 : 0;
      const size = Math.min(first ?? 20, state.maxPage);
      const slice = list.slice(start, start + size);
      return {
        edges: slice.map((node, i) => ({ cursor: encode(start + i), node })),
        pageInfo: { hasNextPage: start + size < list.length, hasPreviousPage: start > 0, startCursor: slice.length ? encode(start) : null, endCursor: slice.length ? encode(start + slice.length - 1) : null },
        totalCount: list.length,
      };
    },
    usersPage: ({ limit, offset }: { limit: number; offset: number }) => users.slice(offset, offset + Math.min(limit, state.maxPage)),
    node: ({ id }: { id: string }) => users.find((u) => u.id === id) ?? GROUPS.find((g) => g.id === id) ?? null,
    search: ({ text }: { text: string }) => [...users.filter((u) => u.email.startsWith(text)).slice(0, 5), ...GROUPS.filter((g) => g.name.startsWith(text))],
    broken: () => {
      throw new Error('the broken resolver failed');
    },
  };
  const handler = createHandler({ schema, rootValue });
  const server = http.createServer((req, res) => {
    state.requests += 1;
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'Invalid or missing token', extensions: { code: 'UNAUTHENTICATED' } }] }));
      return;
    }
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/graphql') {
      res.writeHead(404).end();
      return;
    }
    handler(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
