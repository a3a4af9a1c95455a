/**
 * Oracle Database connector config (node-oracledb in Thin mode: pure JavaScript, no Instant Client).
 */
import { Type, type Static } from 'typebox';
import type { ConnectorSpec } from '../sdk/types.ts';

const NameList = (title: string, description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { title, description, default: [] });

/** characters that cannot break out of an Oracle Net connect descriptor */
const DESCRIPTOR_SAFE = '^[A-Za-z0-9_.$#-]+$';

export const OracleConfig = Type.Object({
  host: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.:_-]+$', title: 'Host' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 1521, title: 'Port' }),
  serviceName: Type.Optional(
    Type.String({ minLength: 1, pattern: DESCRIPTOR_SAFE, title: 'Service name', description: 'e.g. ORCLPDB1 or FREEPDB1' }),
  ),
  sid: Type.Optional(
    Type.String({ minLength: 1, pattern: DESCRIPTOR_SAFE, title: 'SID', description: 'Only for databases without a service name' }),
  ),
  user: Type.String({ minLength: 1, title: 'User' }),
  password: Type.String({ minLength: 1, title: 'Password', 'x-secret': true }),
  tls: Type.Boolean({ default: false, title: 'Use TLS (TCPS)' }),
  walletPem: Type.Optional(
    Type.String({
      minLength: 1,
      title: 'Wallet (PEM)',
      description: 'Contents of ewallet.pem: trusted certificates, and the client key for mutual TLS',
      'x-secret': true,
    }),
  ),
  walletPassword: Type.Optional(Type.String({ minLength: 1, title: 'Wallet password', 'x-secret': true })),
  sslServerDnMatch: Type.Boolean({ default: true, title: 'Check the server certificate name' }),
  sslServerCertDn: Type.Optional(
    Type.String({ minLength: 1, title: 'Expected server certificate DN', description: 'e.g. CN=db.example.com,O=Example' }),
  ),
  owners: NameList('Schemas (owners)', 'Only these schemas (empty: every schema that is not Oracle-maintained)'),
  includeTables: NameList('Include tables', 'Only these tables, as `TABLE` or `OWNER.TABLE` (empty: all)'),
  excludeTables: NameList('Exclude tables', 'Skip these tables, as `TABLE` or `OWNER.TABLE`'),
  connectTimeoutMs: Type.Integer({ minimum: 1000, maximum: 120_000, default: 15_000, title: 'Connect timeout (ms)' }),
  callTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, title: 'Query timeout (ms)' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000, title: 'Rows per page' }),
});
export type OracleConfig = Static<typeof OracleConfig>;

export const oracleSpec: ConnectorSpec = {
  config: OracleConfig,
  authKinds: ['password'],
  steps: [
    { id: 'connection', title: 'Connection', fields: ['host', 'port', 'serviceName', 'sid'] },
    { id: 'authentication', title: 'Authentication', fields: ['user', 'password'] },
    { id: 'tls', title: 'TLS', fields: ['tls', 'walletPem', 'walletPassword', 'sslServerDnMatch', 'sslServerCertDn'] },
    {
      id: 'scope',
      title: 'Scope and limits',
      fields: ['owners', 'includeTables', 'excludeTables', 'connectTimeoutMs', 'callTimeoutMs', 'batchSize'],
    },
  ],
  capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: true },
  documentationUrl: 'docs/connectors/oracle.md',
};
