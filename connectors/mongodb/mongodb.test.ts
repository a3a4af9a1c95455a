/**
 * MongoDB connector against a wire-level fake server (test/fakes/mongodb.ts): the real driver
 * speaks OP_MSG and real SCRAM-SHA-256 to it, so these tests cover the commands the connector
 * sends and how it reads MongoDB's documented replies. Query semantics beyond the fake's small
 * matcher are only proven by the MONGODB_URL suite (mongodb.integration.test.ts).
 */
import { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID, type Document } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSourceError, type SourceError } from '../sdk/errors.ts';
import type { ConfiguredCatalog, ConfiguredStream } from '../sdk/types.ts';
import { FakeMongoServer, mongoError } from '../../test/fakes/mongodb.ts';
import { closedPort, collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import connector, { parseMongoConfig } from './index.ts';
import type { MongoConfig } from './spec.ts';
import { classifyMongoError, hostsOfConnectionString, passwordInConnectionString } from './client.ts';
import { incrementalQuery, projectionFor } from './read.ts';

let fake: FakeMongoServer;

beforeEach(async () => {
  fake = await FakeMongoServer.start({ users: [{ user: 'pip', password: 'correct horse', db: 'admin' }] });
});
afterEach(async () => {
  await fake.stop();
});

function config(extra: Record<string, unknown> = {}): MongoConfig {
  return parseMongoConfig({ host: '127.0.0.1', port: fake.port, database: 'app', user: 'pip', password: 'correct horse', connectTimeoutMs: 2000, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSourceError(err)) throw new Error(`expected a SourceError, got ${String(err)}`);
  return err;
}

function stream(name: string, extra: Partial<ConfiguredStream> = {}): ConfiguredStream {
  return { name, fields: [], primaryKey: ['_id'], syncMode: 'full', ...extra };
}

const day = (n: number) => new Date(Date.UTC(2024, 0, n));

describe('check', () => {
  it('logs in with SCRAM-SHA-256, lists collections and proves find on the first one', async () => {
    fake.addCollection('app', 'users', [{ _id: new ObjectId(), email: 'a@example.com' }]);
    fake.addCollection('app', 'groups', []);
    const details = await connector.check(config(), testContext());
    expect(details).toEqual({ database: 'app', collections: 2, readChecked: 'groups' });
    expect(fake.commandsNamed('saslStart')[0]?.body.mechanism).toBe('SCRAM-SHA-256');
    expect(fake.commandsNamed('saslContinue')).toHaveLength(1);
    const listing = fake.commandsNamed('listCollections')[0]?.body;
    expect(listing).toMatchObject({ nameOnly: true, authorizedCollections: true });
    expect(fake.commandsNamed('find')[0]?.body).toMatchObject({ find: 'groups', limit: 1 });
  });

  it('reports a wrong password as an auth failure without the password in the message', async () => {
    const err = await failure(connector.check(config({ password: 'hunter2-wrong' }), testContext()));
    expect(err.kind).toBe('auth');
    expect(err.detail).toMatchObject({ code: 18, codeName: 'AuthenticationFailed' });
    expect(err.message).not.toContain('hunter2-wrong');
  });

  it('reports credentials in a connection string the same way, never echoing the string', async () => {
    const uri = `mongodb://pip:s3cr3t-in-uri@127.0.0.1:${fake.port}/?directConnection=true`;
    const err = await failure(connector.check(parseMongoConfig({ connectionString: uri, database: 'app', connectTimeoutMs: 2000 }), testContext()));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('s3cr3t-in-uri');
  });

  it('scrubs the connection string password from any driver text it reports', () => {
    const uri = 'mongodb://pip:p%40ss-w0rd@db.example:27017/app';
    expect(passwordInConnectionString(uri)).toBe('p@ss-w0rd');
    const err = classifyMongoError(new Error('weird driver failure near p@ss-w0rd'), parseMongoConfig({ connectionString: uri, database: 'app' }), 'find');
    expect(err.message).toBe('mongodb: find failed: weird driver failure near [redacted]');
    expect(err.cause).toBeUndefined();
  });

  it('reports an unparsable connection string as config without quoting it', async () => {
    const uri = `mongodb://pip:p@ss:word@127.0.0.1:${fake.port}/?directConnection=maybe`;
    const err = await failure(connector.check(parseMongoConfig({ connectionString: uri, database: 'app' }), testContext()));
    expect(err.kind).toBe('config');
    expect(err.message).not.toContain('p@ss:word');
    expect(err.cause).toBeUndefined();
  });

  it('reports a closed port as unreachable', async () => {
    const port = await closedPort();
    const err = await failure(connector.check(config({ port, connectTimeoutMs: 1000 }), testContext()));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('refuses a cloud metadata address before connecting', async () => {
    const started = Date.now();
    const err = await failure(connector.check(config({ host: '169.254.169.254', port: 27017 }), testContext()));
    expect(err.kind).toBe('blocked');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('refuses every host of a connection string, not just the first', async () => {
    const uri = `mongodb://127.0.0.1:${fake.port},169.254.169.254:27017/?replicaSet=rs0`;
    const err = await failure(connector.check(parseMongoConfig({ connectionString: uri, database: 'app' }), testContext()));
    expect(err.kind).toBe('blocked');
    expect(hostsOfConnectionString('mongodb+srv://u:p@cluster0.example.net/db')).toEqual(['cluster0.example.net']);
    expect(hostsOfConnectionString('mongodb://u:p%40x@[::1]:27017,db2:27018/?tls=true')).toEqual(['::1', 'db2']);
  });

  it('reports a missing find privilege as permission', async () => {
    fake.addCollection('app', 'secrets', []);
    fake.override('find', () => mongoError(13, 'Unauthorized', 'not authorized on app to execute command { find: "secrets" }'));
    const err = await failure(connector.check(config(), testContext()));
    expect(err.kind).toBe('permission');
  });
});

describe('discover', () => {
  it('infers fields, types, frequencies and nullability from a $sample', async () => {
    const docs: Document[] = [
      { _id: new ObjectId(), email: 'a@example.com', profile: { age: new Int32(31), city: 'Oslo' }, score: new Int32(3), updatedAt: day(1), tags: ['x'] },
      { _id: new ObjectId(), email: 'b@example.com', profile: { age: null }, score: new Double(2.5), updatedAt: day(2), balance: Decimal128.fromString('10.25') },
      { _id: new ObjectId(), email: 'c@example.com', score: new Long(7), updatedAt: day(3), ssn: '123-45-6789', avatar: new Binary(Buffer.from('png')) },
      { _id: new ObjectId(), email: 'd@example.com', profile: { age: new Int32(40), address: { street: 'Main', geo: { lat: 1.5 } } }, updatedAt: day(4), sessionId: new UUID() },
    ];
    fake.addCollection('app', 'users', docs);
    fake.addCollection('app', 'active_users', docs.slice(0, 2), 'view');
    fake.addCollection('app', 'system.views', []);
    fake.addCollection('app', 'audit_log', []);
    const catalog = await connector.discover(config({ sampleSize: 50, maxDepth: 3, excludeCollections: ['audit_*'] }), testContext());

    expect(catalog.streams.map((s) => [s.name, s.kind])).toEqual([['active_users', 'view'], ['users', 'collection']]);
    const users = catalog.streams.find((s) => s.name === 'users');
    if (!users) throw new Error('users stream missing');
    const field = (name: string) => users.fields.find((f) => f.name === name);
    expect(users.primaryKey).toEqual(['_id']);
    expect(users.fields[0]).toMatchObject({ name: '_id', type: 'string', sourceType: 'objectId', frequency: 1, nullable: false });
    expect(field('email')).toMatchObject({ type: 'string', frequency: 1, nullable: false, suggestedSensitivity: 'confidential' });
    expect(field('profile')).toMatchObject({ type: 'object', frequency: 0.75, nullable: true });
    expect(field('profile.age')).toMatchObject({ type: 'integer', sourceType: 'int|null', frequency: 0.75, nullable: true });
    expect(field('profile.address.street')).toMatchObject({ type: 'string', frequency: 0.25 });
    // maxDepth 3: profile.address.geo is an object field, its children are not walked
    expect(field('profile.address.geo')).toMatchObject({ type: 'object' });
    expect(field('profile.address.geo.lat')).toBeUndefined();
    expect(field('score')).toMatchObject({ type: 'number', sourceType: 'int|double|long', frequency: 0.75 });
    expect(field('balance')).toMatchObject({ type: 'number', sourceType: 'decimal', frequency: 0.25 });
    expect(field('updatedAt')).toMatchObject({ type: 'datetime', sourceType: 'date', suggestedSensitivity: 'public' });
    expect(field('tags')).toMatchObject({ type: 'array' });
    expect(field('avatar')).toMatchObject({ type: 'binary', sourceType: 'binData' });
    expect(field('sessionId')).toMatchObject({ type: 'uuid', suggestedSensitivity: 'restricted' });
    expect(field('ssn')).toMatchObject({ suggestedSensitivity: 'restricted' });
    expect(users.cursorCandidates).toEqual(['updatedAt', '_id']);
    expect(users.supportedSyncModes).toEqual(['full', 'incremental']);
    expect(users.estimatedRows).toBe(4);

    const sample = fake.commandsNamed('aggregate').find((c) => c.body.aggregate === 'users');
    expect(sample?.body.pipeline).toEqual([{ $sample: { size: 50 } }]);
    expect(fake.commandsNamed('aggregate').map((c) => c.body.aggregate)).not.toContain('audit_log');
  });

  it('describes an empty collection by its _id alone', async () => {
    fake.addCollection('app', 'empty', []);
    const catalog = await connector.discover(config(), testContext());
    expect(catalog.streams[0]).toMatchObject({ name: 'empty', primaryKey: ['_id'], cursorCandidates: [], supportedSyncModes: ['full'] });
    expect(catalog.streams[0]?.fields.map((f) => f.name)).toEqual(['_id']);
  });
});

describe('read', () => {
  const catalogOf = (...streams: ConfiguredStream[]): ConfiguredCatalog => ({ streams });

  it('pages through getMore batches and returns every document exactly once, as JSON-safe values', async () => {
    const docs = Array.from({ length: 23 }, (_, i) => ({
      _id: new ObjectId(),
      n: i,
      at: day(i + 1),
      price: Decimal128.fromString(`${i}.10`),
      blob: new Binary(Buffer.from([i])),
      big: Long.fromString('9007199254740993'),
    }));
    fake.addCollection('app', 'items', [...docs].reverse());
    const messages = await collect(connector.read(config(), catalogOf(stream('items')), testReadContext({ batchSize: 5 })));

    const records = recordsOf(messages, 'items');
    expect(records.map((r) => r._id)).toEqual(docs.map((d) => d._id.toHexString()));
    expect(new Set(records.map((r) => r._id)).size).toBe(23);
    expect(records[3]).toEqual({
      _id: docs[3]?._id.toHexString(),
      n: 3,
      at: '2024-01-04T00:00:00.000Z',
      price: '3.10',
      blob: Buffer.from([3]).toString('base64'),
      big: '9007199254740993',
    });
    const find = fake.commandsNamed('find')[0]?.body;
    expect(find).toMatchObject({ find: 'items', filter: {}, sort: { _id: 1 }, batchSize: 5 });
    expect(fake.commandsNamed('getMore').length).toBe(4);
    expect(messages[0]).toEqual({ type: 'stream_status', stream: 'items', status: 'started' });
    expect(messages[messages.length - 1]).toEqual({ type: 'stream_status', stream: 'items', status: 'complete' });
    expect(statesOf(messages)).toEqual([]);
  });

  it('projects the selected fields (outermost path only) and emits them by name', async () => {
    fake.addCollection('app', 'people', [{ _id: 'p1', name: 'Ann', profile: { age: 30, city: 'Oslo' }, secret: 'x' }]);
    const configured = stream('people', { fields: ['name', 'profile', 'profile.age'] });
    const messages = await collect(connector.read(config(), catalogOf(configured), testReadContext()));
    expect(fake.commandsNamed('find')[0]?.body.projection).toEqual({ _id: 1, name: 1, profile: 1 });
    expect(recordsOf(messages)).toEqual([{ _id: 'p1', name: 'Ann', profile: { age: 30, city: 'Oslo' }, 'profile.age': 30 }]);
    expect(projectionFor([], ['_id'])).toBeUndefined();
  });

  it('reads incrementally by (cursor, _id), checkpoints, and resumes without losing ties', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => new ObjectId(`65a0000000000000000000${String(i).padStart(2, '0')}`));
    // four documents share day(2), across the checkpoint after the third document
    const docs = [
      { _id: ids[0], v: 0, updatedAt: day(1) },
      { _id: ids[1], v: 1, updatedAt: day(2) },
      { _id: ids[2], v: 2, updatedAt: day(2) },
      { _id: ids[3], v: 3, updatedAt: day(2) },
      { _id: ids[4], v: 4, updatedAt: day(2) },
      { _id: ids[5], v: 5, updatedAt: day(3) },
      { _id: ids[6], v: 6 }, // never updated: no cursor value
    ];
    fake.addCollection('app', 'events', [...docs].reverse());
    const configured = stream('events', { syncMode: 'incremental', cursorField: 'updatedAt' });

    const first = await collect(connector.read(config(), catalogOf(configured), testReadContext({ batchSize: 3 })));
    expect(recordsOf(first).map((r) => r.v)).toEqual([6, 0, 1, 2, 3, 4, 5]);
    const states = statesOf(first);
    expect(states).toHaveLength(3);
    expect(fake.commandsNamed('find')[0]?.body).toMatchObject({ filter: {}, sort: { updatedAt: 1, _id: 1 }, batchSize: 3 });

    // resume from the first checkpoint (after v=1): the remaining day(2) ties must still come
    const resumed = await collect(connector.read(config(), catalogOf(configured), testReadContext({ batchSize: 3, state: { events: states[0] } })));
    expect(recordsOf(resumed).map((r) => r.v)).toEqual([2, 3, 4, 5]);
    const filter = fake.commandsNamed('find')[1]?.body.filter as Document;
    expect(filter).toEqual({ $or: [{ updatedAt: { $gt: day(2) } }, { updatedAt: day(2), _id: { $gt: ids[1] } }] });
    expect(fake.commandsNamed('find')[1]?.body.sort).toEqual({ updatedAt: 1, _id: 1 });

    // the final state sees nothing new
    const last = states[states.length - 1];
    const nothing = await collect(connector.read(config(), catalogOf(configured), testReadContext({ state: { events: last } })));
    expect(recordsOf(nothing)).toEqual([]);
    expect(last).toMatchObject({ cursorField: 'updatedAt', cursor: { $date: { $numberLong: String(day(3).getTime()) } }, id: { $oid: ids[5]?.toHexString() } });
  });

  it('starts over when the configured cursor field changed since the last state', () => {
    expect(incrementalQuery('modifiedAt').filter).toEqual({});
    expect(incrementalQuery('_id', { cursor: 5 })).toEqual({ filter: { _id: { $gt: 5 } }, sort: { _id: 1 } });
  });

  it('reads only the hinted keys, matching hex keys against ObjectIds', async () => {
    const a = new ObjectId();
    const b = new ObjectId();
    fake.addCollection('app', 'users', [{ _id: a, n: 1 }, { _id: b, n: 2 }, { _id: 'plain', n: 3 }]);
    const ctx = testReadContext({ hints: [{ stream: 'users', keys: [{ _id: b.toHexString() }, { _id: 'plain' }, { name: 'no id' }] }] });
    const messages = await collect(connector.read(config(), catalogOf(stream('users')), ctx));
    expect(recordsOf(messages).map((r) => r.n).sort()).toEqual([2, 3]);
    const filter = fake.commandsNamed('find')[0]?.body.filter as Document;
    expect(filter._id.$in).toEqual([b, b.toHexString(), 'plain']);
    expect(messages.some((m) => m.type === 'log' && m.level === 'warn')).toBe(true);
  });

  it('kills the server cursor when the consumer stops early', async () => {
    fake.addCollection('app', 'items', Array.from({ length: 50 }, (_, i) => ({ _id: i })));
    for await (const m of connector.read(config(), catalogOf(stream('items')), testReadContext({ batchSize: 10 }))) {
      if (m.type === 'record') break;
    }
    expect(fake.commandsNamed('killCursors')).toHaveLength(1);
    expect(fake.openCursors).toBe(0);
  });

  it('fails a read with the server error kind', async () => {
    fake.addCollection('app', 'items', []);
    fake.override('find', () => mongoError(13, 'Unauthorized', 'not authorized on app to execute command'));
    const err = await failure(collect(connector.read(config(), catalogOf(stream('items')), testReadContext())));
    expect(err.kind).toBe('permission');
  });
});
