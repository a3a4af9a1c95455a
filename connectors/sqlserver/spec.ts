/**
 * SQL Server connector config: the schema is the validator, the wizard form and the type.
 */
import { Type, type Static } from 'typebox';
import type { ConnectorSpec } from '../sdk/types.ts';

const NameList = (title: string, description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { title, description, default: [] });

export const SqlServerConfig = Type.Object({
  host: Type.String({ minLength: 1, title: 'Host', description: 'Server host name or IP address' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 1433, title: 'Port' }),
  instanceName: Type.Optional(
    Type.String({
      minLength: 1,
      title: 'Instance name',
      description: 'Named instance (resolved through SQL Browser on UDP 1434); leave empty to use the port',
    }),
  ),
  database: Type.String({ minLength: 1, title: 'Database' }),
  user: Type.String({ minLength: 1, title: 'User (SQL authentication)' }),
  password: Type.String({ minLength: 1, title: 'Password', 'x-secret': true }),
  encrypt: Type.Boolean({ default: true, title: 'Encrypt the connection (TLS)' }),
  strictEncryption: Type.Boolean({
    default: false,
    title: 'TDS 8.0 strict encryption',
    description: 'TLS before any TDS traffic (SQL Server 2022+ with "Force Strict Encryption")',
  }),
  trustServerCertificate: Type.Boolean({
    default: false,
    title: 'Trust the server certificate without verification',
    description: 'Only for testing: disables certificate verification',
  }),
  caCertificate: Type.Optional(
    Type.String({ minLength: 1, title: 'CA certificate (PEM)', description: 'Trust this CA in addition to the system store' }),
  ),
  tlsServerName: Type.Optional(
    Type.String({ minLength: 1, title: 'TLS server name', description: 'Expected name in the server certificate, when it differs from the host' }),
  ),
  schemas: NameList('Schemas', 'Only these schemas (empty: every schema the user can see)'),
  includeTables: NameList('Include tables', 'Only these tables, as `table` or `schema.table` (empty: all)'),
  excludeTables: NameList('Exclude tables', 'Skip these tables, as `table` or `schema.table`'),
  connectTimeoutMs: Type.Integer({ minimum: 1000, maximum: 120_000, default: 15_000, title: 'Connect timeout (ms)' }),
  requestTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, title: 'Query timeout (ms)' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000, title: 'Rows per page' }),
});
export type SqlServerConfig = Static<typeof SqlServerConfig>;

export const sqlServerSpec: ConnectorSpec = {
  config: SqlServerConfig,
  authKinds: ['password'],
  steps: [
    { id: 'connection', title: 'Connection', fields: ['host', 'port', 'instanceName', 'database'] },
    { id: 'authentication', title: 'Authentication', fields: ['user', 'password'] },
    {
      id: 'tls',
      title: 'Encryption',
      fields: ['encrypt', 'strictEncryption', 'trustServerCertificate', 'caCertificate', 'tlsServerName'],
    },
    {
      id: 'scope',
      title: 'Scope and limits',
      fields: ['schemas', 'includeTables', 'excludeTables', 'connectTimeoutMs', 'requestTimeoutMs', 'batchSize'],
    },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: true },
  documentationUrl: 'docs/connectors/sqlserver.md',
};
