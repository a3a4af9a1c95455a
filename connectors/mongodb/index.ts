/**
 * MongoDB as a PIP source: collections and views with fields inferred by sampling.
 */
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { defineConnector, type ConnectorContext } from '../sdk/types.ts';
import { withConnection } from '../sdk/with-connection.ts';
import { classifyMongoError, MongoSourceClient, mongoTargets, SOURCE } from './client.ts';
import { discoverMongo, listMongoCollections } from './discover.ts';
import { readMongo } from './read.ts';
import { MongoConfig, mongoSpec } from './spec.ts';

export function parseMongoConfig(raw: unknown): MongoConfig {
  return parseConnectorConfig(MongoConfig, raw, SOURCE);
}

function withClient<T>(raw: unknown, ctx: ConnectorContext, what: string, work: (client: MongoSourceClient) => Promise<T>): Promise<T> {
  const config = parseMongoConfig(raw);
  return withConnection({ source: SOURCE, what, timeoutMs: ctx.timeoutMs, connect: () => MongoSourceClient.connect(config, ctx), work });
}

/** Proves login (ping), listing, and `find` on the first selected collection. */
async function checkMongo(client: MongoSourceClient): Promise<Record<string, unknown>> {
  const collections = await listMongoCollections(client.db, client.config);
  const first = collections[0];
  if (first) {
    try {
      await client.db.collection(first.name).findOne({}, { projection: { _id: 1 } });
    } catch (err) {
      throw classifyMongoError(err, client.config, `find on ${first.name}`);
    }
  }
  return { database: client.config.database, collections: collections.length, readChecked: first?.name ?? null };
}

export default defineConnector<MongoConfig>({
  type: 'mongodb',
  displayName: 'MongoDB',
  category: 'database',
  description: 'Collections and views of a MongoDB database (4.2 or later, Atlas included), fields inferred by sampling.',
  spec: mongoSpec,
  templates: [
    {
      id: 'atlas',
      name: 'MongoDB Atlas',
      description: 'An Atlas cluster through its mongodb+srv:// connection string',
      config: { connectionString: 'mongodb+srv://<user>:<password>@<cluster>.mongodb.net/', tls: true },
    },
  ],
  targets: (config) => mongoTargets(parseMongoConfig(config)),
  check: (config, ctx) => withClient(config, ctx, 'check', checkMongo),
  discover: (config, ctx) => withClient(config, ctx, 'discover', (client) => discoverMongo(client.db, client.config)),
  async *read(config, catalog, ctx) {
    const parsed = parseMongoConfig(config);
    const client = await MongoSourceClient.connect(parsed, ctx);
    try {
      yield* readMongo({ db: client.db, config: parsed, catalog, ctx });
    } finally {
      await client.close();
    }
  },
});
