/**
 * Against a real MongoDB when MONGODB_URL is set (e.g. mongodb://user:pass@localhost:27017/?authSource=admin);
 * skipped otherwise. Creates a scratch database, proves discover + full + incremental reads, drops it.
 */
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, recordsOf, statesOf, testContext, testReadContext } from '../../test/fakes/connector-context.ts';
import connector, { parseMongoConfig } from './index.ts';

const url = process.env.MONGODB_URL;

describe.skipIf(!url)('MongoDB connector against MONGODB_URL', () => {
  const database = `pip_it_${Date.now()}`;
  const config = parseMongoConfig({ connectionString: url, database, sampleSize: 100, batchSize: 2 });
  let admin: MongoClient;

  beforeAll(async () => {
    admin = await MongoClient.connect(url as string);
    await admin.db(database).collection('users').insertMany([
      { _id: new ObjectId(), email: 'a@example.com', profile: { age: 30 }, updatedAt: new Date('2024-01-01T00:00:00Z') },
      { _id: new ObjectId(), email: 'b@example.com', updatedAt: new Date('2024-01-02T00:00:00Z') },
      { _id: new ObjectId(), email: 'c@example.com', updatedAt: new Date('2024-01-02T00:00:00Z') },
    ]);
  });

  afterAll(async () => {
    await admin?.db(database).dropDatabase();
    await admin?.close();
  });

  it('checks, discovers and reads fully then incrementally', async () => {
    expect(await connector.check(config, testContext())).toMatchObject({ database, collections: 1 });

    const catalog = await connector.discover(config, testContext());
    const users = catalog.streams.find((s) => s.name === 'users');
    expect(users?.fields.find((f) => f.name === 'profile.age')).toMatchObject({ type: 'integer', nullable: true });
    expect(users?.cursorCandidates).toContain('updatedAt');

    const stream = { name: 'users', fields: [], primaryKey: ['_id'], syncMode: 'incremental' as const, cursorField: 'updatedAt' };
    const first = await collect(connector.read(config, { streams: [stream] }, testReadContext()));
    expect(recordsOf(first)).toHaveLength(3);
    const state = statesOf(first).at(-1);

    await admin.db(database).collection('users').insertOne({ email: 'd@example.com', updatedAt: new Date('2024-01-03T00:00:00Z') });
    const second = await collect(connector.read(config, { streams: [stream] }, testReadContext({ state: { users: state } })));
    expect(recordsOf(second).map((r) => r.email)).toEqual(['d@example.com']);

    const full = await collect(connector.read(config, { streams: [{ ...stream, syncMode: 'full' }] }, testReadContext()));
    expect(recordsOf(full)).toHaveLength(4);
  });
});
