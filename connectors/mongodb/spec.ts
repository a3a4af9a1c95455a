/**
 * MongoDB connector config. Either a connection string (secret: it can carry credentials) or
 * host / port / user / password fields; the connection string wins when both are given.
 */
import { Type, type Static } from 'typebox';
import type { ConnectorSpec } from '../sdk/types.ts';

const NameList = (title: string, description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { title, description, default: [] });

export const MongoConfig = Type.Object({
  connectionString: Type.Optional(
    Type.String({
      minLength: 1,
      title: 'Connection string',
      description: 'mongodb:// or mongodb+srv:// URI; overrides the host and credential fields',
      'x-secret': true,
    }),
  ),
  host: Type.Optional(Type.String({ minLength: 1, title: 'Host' })),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 27017, title: 'Port' }),
  replicaSet: Type.Optional(Type.String({ minLength: 1, title: 'Replica set name' })),
  user: Type.Optional(Type.String({ minLength: 1, title: 'User' })),
  password: Type.Optional(Type.String({ minLength: 1, title: 'Password', 'x-secret': true })),
  authSource: Type.Optional(Type.String({ minLength: 1, title: 'Authentication database', description: 'Default: admin' })),
  tls: Type.Boolean({ default: false, title: 'Use TLS' }),
  caCertificate: Type.Optional(Type.String({ minLength: 1, title: 'CA certificate (PEM)' })),
  tlsAllowInvalidCertificates: Type.Boolean({
    default: false,
    title: 'Skip certificate verification',
    description: 'Only for testing',
  }),
  database: Type.String({ minLength: 1, title: 'Database' }),
  includeCollections: NameList('Include collections', 'Only these collections (empty: all)'),
  excludeCollections: NameList('Exclude collections', 'Skip these collections'),
  sampleSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, title: 'Documents sampled per collection' }),
  maxDepth: Type.Integer({ minimum: 1, maximum: 10, default: 3, title: 'Nesting depth of discovered fields' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000, title: 'Documents per batch' }),
  connectTimeoutMs: Type.Integer({ minimum: 1000, maximum: 120_000, default: 10_000, title: 'Connect timeout (ms)' }),
  socketTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000, title: 'Socket timeout (ms)' }),
});
export type MongoConfig = Static<typeof MongoConfig>;

export const mongoSpec: ConnectorSpec = {
  config: MongoConfig,
  authKinds: ['none', 'password'],
  steps: [
    { id: 'connection', title: 'Connection', fields: ['connectionString', 'host', 'port', 'replicaSet', 'database'] },
    { id: 'authentication', title: 'Authentication', fields: ['user', 'password', 'authSource'] },
    { id: 'tls', title: 'TLS', fields: ['tls', 'caCertificate', 'tlsAllowInvalidCertificates'] },
    {
      id: 'scope',
      title: 'Scope and limits',
      fields: ['includeCollections', 'excludeCollections', 'sampleSize', 'maxDepth', 'batchSize', 'connectTimeoutMs', 'socketTimeoutMs'],
    },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: true },
  documentationUrl: 'docs/connectors/mongodb.md',
};
