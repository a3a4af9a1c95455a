/**
 * The OpenAPI connector on real documents (test/data/openapi): a petstore-like OpenAPI 3.0 with
 * OAuth2 scopes per operation, a Swagger 2.0 directory API with securityDefinitions, and an
 * OpenAPI 3.1 document split across files served (with a bearer token) by a local HTTP server;
 * invalid and dangling documents; external references from hosts that are or are not allowed;
 * and the discovery diff when a specification changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import { sendJson, startHttpServer, type TestHttpServer } from '../../test/fakes/http-server.ts';
import { diffCatalogs } from '../../src/connections/catalog-diff.ts';
import type { ConfiguredStream } from '../sdk/types.ts';
import connector from './index.ts';

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/data/openapi');
const text = (file: string) => fs.readFileSync(path.join(DATA, file), 'utf8');
const TOKEN = 'spec-token-123456';

/** serves test/data/openapi (bearer-protected) plus documents a test puts in `dynamic` */
let files: TestHttpServer;
let other: TestHttpServer;
const dynamic = new Map<string, string>();
beforeAll(async () => {
  files = await startHttpServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return sendJson(res, 401, { error: 'invalid_token', error_description: 'The access token is missing or invalid' });
    const body = dynamic.get(req.url.pathname) ?? (fs.existsSync(path.join(DATA, req.url.pathname)) ? fs.readFileSync(path.join(DATA, req.url.pathname), 'utf8') : undefined);
    if (body === undefined) return sendJson(res, 404, { message: 'no such file' });
    res.writeHead(200, { 'content-type': req.url.pathname.endsWith('.json') ? 'application/json' : 'application/yaml' });
    res.end(body);
  });
  other = await startHttpServer((req, res) => {
    if (req.url.pathname === '/shared/money.json') return sendJson(res, 200, { type: 'object', required: ['amount'], properties: { amount: { type: 'string' }, currency: { type: 'string' } } });
    return sendJson(res, 404, {});
  });
});
afterAll(async () => {
  await files.close();
  await other.close();
});

const configured = (name: string): ConfiguredStream => ({ name, fields: [], primaryKey: [name === 'endpoints' ? 'key' : 'name'], syncMode: 'full' });
async function records(config: Record<string, unknown>, stream: string) {
  return recordsOf(await collect(connector.read(config as never, { streams: [configured(stream)] }, testReadContext())), stream);
}
const byKey = (rs: Array<Record<string, unknown>>, key = 'key') => Object.fromEntries(rs.map((r) => [r[key] as string, r]));
const fromUrl = (file: string, over: Record<string, unknown> = {}) => ({ specUrl: `${files.url}/${file}`, authType: 'bearer', bearerToken: TOKEN, ...over });

describe('OpenAPI 3.0 (petstore, uploaded text)', () => {
  const config = { specText: text('petstore-3.0.yaml') };
  let endpoints: Record<string, Record<string, unknown>>;
  beforeAll(async () => {
    endpoints = byKey(await records(config, 'endpoints'));
  });

  it('lists every operation keyed METHOD path with the scopes it needs', () => {
    const expected: Record<string, { security: Array<Record<string, string[]>>; scopes: string[] }> = {
      'PUT /pet': { security: [{ petstore_auth: ['write:pets', 'read:pets'] }], scopes: ['read:pets', 'write:pets'] },
      'POST /pet': { security: [{ petstore_auth: ['write:pets', 'read:pets'] }], scopes: ['read:pets', 'write:pets'] },
      'GET /pet/findByStatus': { security: [{ petstore_auth: ['read:pets'] }, { api_key: [] }], scopes: ['read:pets'] },
      'GET /pet/findByTags': { security: [{ petstore_auth: ['read:pets'] }], scopes: ['read:pets'] },
      'GET /pet/{petId}': { security: [{ api_key: [] }, { petstore_auth: ['read:pets'] }], scopes: ['read:pets'] },
      'POST /pet/{petId}': { security: [{ petstore_auth: ['write:pets'] }], scopes: ['write:pets'] },
      'DELETE /pet/{petId}': { security: [{ petstore_auth: ['write:pets', 'admin:pets'] }], scopes: ['admin:pets', 'write:pets'] },
      'GET /store/inventory': { security: [{ api_key: [] }], scopes: [] },
      'POST /store/order': { security: [{ orders_oauth: ['orders:write'] }], scopes: ['orders:write'] },
      'GET /store/order/{orderId}': { security: [{ orders_oauth: ['orders:read'] }], scopes: ['orders:read'] },
      'DELETE /store/order/{orderId}': { security: [{ orders_oauth: ['orders:write', 'orders:delete'] }], scopes: ['orders:delete', 'orders:write'] },
      'GET /user/login': { security: [], scopes: [] },
      'GET /user/{username}': { security: [{ petstore_auth: ['read:pets'] }], scopes: ['read:pets'] },
      'PUT /user/{username}': { security: [{ bearer_jwt: [] }], scopes: [] },
      'DELETE /user/{username}': { security: [{ bearer_jwt: [], petstore_auth: ['admin:users'] }], scopes: ['admin:users'] },
    };
    expect(Object.keys(endpoints).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, want] of Object.entries(expected)) expect({ key, security: endpoints[key]!.security, scopes: endpoints[key]!.scopes }).toEqual({ key, ...want });
  });

  it('carries method, path, operationId, tags, summary, deprecation, public access and parameters', () => {
    expect(endpoints['DELETE /store/order/{orderId}']).toMatchObject({
      method: 'DELETE',
      path: '/store/order/{orderId}',
      operation_id: 'deleteOrder',
      tags: ['store'],
      summary: 'Delete purchase order by ID',
      deprecated: false,
      public: false,
      security_schemes: ['orders_oauth'],
      parameters: ['orderId (path)'],
    });
    expect(endpoints['GET /pet/findByTags']!.deprecated).toBe(true);
    expect(endpoints['GET /user/login']!.public).toBe(true);
    // a path-level parameter given by $ref
    expect(endpoints['GET /pet/{petId}']!.parameters).toEqual(['petId (path)']);
    expect(endpoints['DELETE /pet/{petId}']!.parameters).toEqual(['petId (path)', 'api_key (header)']);
  });

  it('security schemes with flows, scopes and URLs', async () => {
    const schemes = byKey(await records(config, 'security_schemes'), 'name');
    expect(schemes.petstore_auth).toMatchObject({ type: 'oauth2', flows: ['implicit'], scopes: ['admin:pets', 'admin:users', 'read:pets', 'write:pets'], authorization_url: 'https://petstore3.example.com/oauth/authorize' });
    expect(schemes.petstore_auth!.scope_descriptions).toMatchObject({ 'write:pets': 'modify pets in your account' });
    expect(schemes.orders_oauth).toMatchObject({ flows: ['clientCredentials', 'authorizationCode'], token_url: 'https://auth.petstore.example.com/oauth/token', scopes: ['orders:delete', 'orders:read', 'orders:write'] });
    expect(schemes.api_key).toEqual({ name: 'api_key', type: 'apiKey', in: 'header', parameter_name: 'api_key' });
    expect(schemes.bearer_jwt).toEqual({ name: 'bearer_jwt', type: 'http', scheme: 'bearer', bearer_format: 'JWT' });
  });

  it('models with their fields, references, composition and nullability', async () => {
    const models = byKey(await records(config, 'models'), 'name');
    expect(Object.keys(models).sort()).toEqual(['ApiResponse', 'Category', 'NewPet', 'Order', 'Pet', 'Tag', 'User']);
    expect(models.Pet).toMatchObject({ type: 'object', required: ['name', 'photoUrls'], field_names: ['id', 'name', 'category', 'photoUrls', 'tags', 'status'] });
    const pet = byKey(models.Pet!.fields as Array<Record<string, unknown>>, 'name');
    expect(pet.category).toMatchObject({ type: 'object', ref: 'Category', required: false });
    expect(pet.tags).toMatchObject({ type: 'array', items: 'Tag' });
    expect(pet.status).toMatchObject({ type: 'string', enum: ['available', 'pending', 'sold'] });
    expect(pet.id).toMatchObject({ type: 'integer', format: 'int64' });
    expect(models.NewPet).toMatchObject({ extends: ['Pet'], field_names: ['ownerEmail'], required: ['ownerEmail'] });
    expect(byKey(models.User!.fields as Array<Record<string, unknown>>, 'name').phone).toMatchObject({ nullable: true });
  });

  it('discover: the three streams, keyed, with their entries', async () => {
    const { streams } = await connector.discover(config as never, testContext());
    expect(streams.map((s) => [s.name, s.primaryKey, s.estimatedRows])).toEqual([
      ['endpoints', ['key'], 15],
      ['security_schemes', ['name'], 4],
      ['models', ['name'], 7],
    ]);
    expect(streams[0]!.entries!['DELETE /pet/{petId}']).toBe('security: petstore_auth[write:pets admin:pets]');
    expect(streams[0]!.entries!['GET /pet/findByTags']).toBe('security: petstore_auth[read:pets]; deprecated');
  });
});

describe('Swagger 2.0 (directory API, from a protected URL)', () => {
  it('check loads it with the bearer token and describes it', async () => {
    expect(await connector.check(fromUrl('directory-swagger-2.0.json') as never, testContext())).toEqual({
      title: 'Corporate Directory API',
      apiVersion: '2.4.1',
      specVersion: '2.0',
      documents: 1,
      endpoints: 10,
      securitySchemes: 4,
      models: 5,
    });
    await expect(connector.check(fromUrl('directory-swagger-2.0.json', { bearerToken: 'wrong-token-000' }) as never, testContext())).rejects.toMatchObject({
      kind: 'auth',
      message: 'openapi: GET /directory-swagger-2.0.json answered 401 invalid_token: The access token is missing or invalid',
    });
  });

  it('endpoints with global security inherited, alternatives, public and basic operations', async () => {
    const endpoints = byKey(await records(fromUrl('directory-swagger-2.0.json'), 'endpoints'));
    expect(Object.fromEntries(Object.entries(endpoints).map(([k, r]) => [k, r.scopes]))).toEqual({
      'GET /users': ['directory.read'],
      'POST /users': ['directory.write'],
      'GET /users/{userId}': ['directory.read'],
      'PATCH /users/{userId}': ['directory.write'],
      'DELETE /users/{userId}': ['directory.write', 'groups.admin'],
      'GET /groups': ['directory.read'],
      'POST /groups/{groupId}/members': ['groups.admin'],
      'DELETE /groups/{groupId}/members/{userId}': ['groups.admin'],
      'GET /health': [],
      'GET /reports/usage': [],
    });
    expect(endpoints['GET /users/{userId}']!.security).toEqual([{ oauth2_code: ['directory.read'] }, { oauth2_implicit: ['directory.read'] }, { api_key: [] }]);
    expect(endpoints['GET /users/{userId}']!.parameters).toEqual(['userId (path)']);
    expect(endpoints['DELETE /groups/{groupId}/members/{userId}']!.deprecated).toBe(true);
    expect(endpoints['GET /health']!.public).toBe(true);
    expect(endpoints['GET /reports/usage']).toMatchObject({ security: [{ basic: [] }], public: false });
  });

  it('securityDefinitions with their Swagger flows, and definitions as models', async () => {
    const schemes = byKey(await records(fromUrl('directory-swagger-2.0.json'), 'security_schemes'), 'name');
    expect(schemes.oauth2_code).toMatchObject({ type: 'oauth2', flows: ['accessCode'], token_url: 'https://login.corp.example.com/oauth2/token', scopes: ['directory.read', 'directory.write', 'groups.admin'] });
    expect(schemes.api_key).toMatchObject({ type: 'apiKey', in: 'query', parameter_name: 'key' });
    expect(schemes.basic).toMatchObject({ type: 'basic' });
    const models = byKey(await records(fromUrl('directory-swagger-2.0.json'), 'models'), 'name');
    const user = byKey(models.User!.fields as Array<Record<string, unknown>>, 'name');
    expect(user.manager).toMatchObject({ ref: 'User' });
    expect(user.groups).toMatchObject({ type: 'array', items: 'Group' });
  });
});

describe('OpenAPI 3.1 split across files', () => {
  it('resolves relative external $refs through the same authenticated host', async () => {
    const before = files.requests.length;
    const endpoints = byKey(await records(fromUrl('split-3.1/openapi.yaml'), 'endpoints'));
    expect(Object.keys(endpoints).sort()).toEqual(['DELETE /orders/{id}', 'GET /invoices/{invoiceId}', 'GET /orders', 'GET /orders/{id}', 'POST /orders', 'POST orderShipped'].sort());
    expect(endpoints['DELETE /orders/{id}']).toMatchObject({ operation_id: 'cancelOrder', scopes: ['orders.admin', 'orders.write'], parameters: ['id (path)'] });
    expect(endpoints['GET /orders']).toMatchObject({ security: [{ oidc: ['orders.read'] }] });
    expect(endpoints['GET /invoices/{invoiceId}']).toMatchObject({ security: [{ oidc: ['billing.read'] }, { mtls: [] }] });
    expect(endpoints['POST orderShipped']).toMatchObject({ webhook: true });
    const fetched = files.requests.slice(before).map((r) => r.url.pathname).sort();
    expect(fetched).toEqual(['/split-3.1/openapi.yaml', '/split-3.1/paths/orders.yaml', '/split-3.1/schemas/common.yaml', '/split-3.1/schemas/invoice.yaml', '/split-3.1/schemas/order.yaml']);
    expect(files.requests.slice(before).every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('models from the other files, with 3.1 type arrays', async () => {
    const models = byKey(await records(fromUrl('split-3.1/openapi.yaml'), 'models'), 'name');
    expect(Object.keys(models).sort()).toEqual(['Invoice', 'Money', 'Order']);
    const order = byKey(models.Order!.fields as Array<Record<string, unknown>>, 'name');
    expect(order.customerEmail).toMatchObject({ type: 'string', nullable: true, format: 'email' });
    expect(order.id).toMatchObject({ type: 'string', format: 'uuid', required: true });
    expect(order.lines).toMatchObject({ type: 'array', items: 'object' });
    expect(models.Money).toMatchObject({ required: ['amount', 'currency'], field_names: ['amount', 'currency'] });
    const schemes = byKey(await records(fromUrl('split-3.1/openapi.yaml'), 'security_schemes'), 'name');
    expect(schemes.oidc).toMatchObject({ type: 'openIdConnect', openid_connect_url: 'https://login.example.com/.well-known/openid-configuration' });
    expect(schemes.mtls).toMatchObject({ type: 'mutualTLS' });
  });

  it('fetches references from another host only when allowed, and never with the credentials', async () => {
    const otherHost = other.url.replace('127.0.0.1', 'localhost');
    dynamic.set('/dynamic/openapi.json', JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'Uses a shared schema', version: '1' },
      paths: { '/prices': { get: { operationId: 'prices', responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: `${otherHost}/shared/money.json` } } } } } } } },
    }));
    await expect(connector.check(fromUrl('dynamic/openapi.json') as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: `openapi: the $ref to ${otherHost}/shared/money.json is not allowed: add ${new URL(otherHost).host} to allowedRefHosts`,
    });
    expect(other.requests).toHaveLength(0);
    const details = await connector.check(fromUrl('dynamic/openapi.json', { allowedRefHosts: [new URL(otherHost).host] }) as never, testContext());
    expect(details).toMatchObject({ documents: 2, endpoints: 1 });
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('an uploaded document cannot use relative external references', async () => {
    await expect(connector.check({ specText: text('split-3.1/openapi.yaml') } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('the uploaded document refers to paths/orders.yaml by a relative $ref'),
    });
  });
});

describe('invalid documents', () => {
  it('names the broken location', async () => {
    await expect(connector.discover({ specText: text('invalid-3.0.yaml') } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: "openapi: the document is not a valid OpenAPI 3.0.3 specification: paths['/accounts/{accountId}'].get: must have required property 'responses'",
    });
  });

  it('names a dangling $ref', async () => {
    await expect(connector.discover({ specText: text('broken-ref-3.0.yaml') } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('Missing $ref pointer "#/components/schemas/Thing"'),
    });
  });

  it('names the line of a YAML syntax error', async () => {
    const broken = 'openapi: 3.0.3\ninfo:\n  title: x\n  version: "1"\npaths:\n  /a:\n    get: [unclosed\n';
    await expect(connector.discover({ specText: broken } as never, testContext())).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/^openapi: the specification cannot be read: Error parsing the uploaded document: .* \(8:1\)$/),
    });
  });

  it('a missing file on the server is a config error with the status', async () => {
    await expect(connector.check(fromUrl('nope.yaml') as never, testContext())).rejects.toMatchObject({ kind: 'config', message: 'openapi: GET /nope.yaml answered 404 no such file' });
  });

  it('needs a URL or a document, not both', async () => {
    await expect(connector.check({} as never, testContext())).rejects.toMatchObject({ kind: 'config', message: 'openapi: set specUrl (a URL) or specText (the document)' });
  });
});

describe('a specification that changes', () => {
  it('the discovery diff names new and removed endpoints and changed scopes; records are keyed for a record-level diff', async () => {
    const before = text('petstore-3.0.yaml');
    const after = before
      .replace(/ {6}security:\n {8}- orders_oauth:\n {12}- orders:write\n {12}- orders:delete\n/, '      security:\n        - orders_oauth:\n            - orders:admin\n')
      .replace(/ {2}\/store\/inventory:\n(?: {4}.*\n)+?(?= {2}\/store\/order:)/, '')
      .replace('  /user/login:\n', '  /user/logout:\n    get:\n      tags: [user]\n      operationId: logoutUser\n      responses:\n        default:\n          description: ok\n      security: []\n  /user/login:\n');
    expect(after).not.toBe(before);
    const first = await connector.discover({ specText: before } as never, testContext());
    const second = await connector.discover({ specText: after } as never, testContext());
    const diff = diffCatalogs(first, second);
    expect(diff.changed_streams.find((s) => s.stream === 'endpoints')).toMatchObject({
      added_entries: ['GET /user/logout'],
      removed_entries: ['GET /store/inventory'],
      changed_entries: ['DELETE /store/order/{orderId}'],
    });
    expect(second.streams[0]!.entries!['DELETE /store/order/{orderId}']).toBe('security: orders_oauth[orders:admin]');
    const changed = byKey(await records({ specText: after }, 'endpoints'));
    expect(changed['DELETE /store/order/{orderId}']!.scopes).toEqual(['orders:admin']);
  });
});
