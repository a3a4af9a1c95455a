/**
 * The config every network SQL database connector shares (PostgreSQL, MySQL / MariaDB): one
 * TypeBox schema factory, the wizard steps, the capabilities and the TLS options for Node drivers.
 *
 * Table filters: `includeTables` / `excludeTables` take globs (`*`, `?`, case-insensitive; a
 * pattern with a dot matches `schema.table`) or regular expressions between slashes (`/^hr_/i`).
 */
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import { Type, type Static } from 'typebox';
import type { ConnectorCapabilities, WizardStep } from './types.ts';

const NameList = (title: string, description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { title, description, default: [] });

export const TlsMode = Type.Union([Type.Literal('disable'), Type.Literal('require'), Type.Literal('verify-full')], {
  title: 'TLS',
  description:
    'disable: plain TCP. require: encrypted, certificate not verified. verify-full: encrypted, certificate chain and host name verified.',
  default: 'verify-full',
});
export type TlsMode = Static<typeof TlsMode>;

export interface SqlConfigDefaults {
  port: number;
  /** what `schemas` means for this database, shown in the wizard */
  schemasDescription: string;
}

export function sqlDatabaseConfig(defaults: SqlConfigDefaults) {
  return Type.Object({
    host: Type.String({ minLength: 1, maxLength: 253, title: 'Host', description: 'Server host name or IP address' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: defaults.port, title: 'Port' }),
    database: Type.String({ minLength: 1, maxLength: 128, title: 'Database' }),
    user: Type.String({ minLength: 1, maxLength: 128, title: 'User', description: 'A read-only user is enough' }),
    password: Type.String({ default: '', title: 'Password', 'x-secret': true }),
    tlsMode: TlsMode,
    tlsCaCertificate: Type.Optional(
      Type.String({ minLength: 1, title: 'CA certificate (PEM)', description: 'Trust this CA instead of the system store (public, not a secret)' }),
    ),
    tlsClientCertificate: Type.Optional(Type.String({ minLength: 1, title: 'Client certificate (PEM)', 'x-secret': true })),
    tlsClientKey: Type.Optional(Type.String({ minLength: 1, title: 'Client private key (PEM)', 'x-secret': true })),
    tlsServerName: Type.Optional(
      Type.String({ minLength: 1, title: 'TLS server name', description: 'Expected name in the server certificate, when it differs from the host' }),
    ),
    schemas: NameList('Schemas', defaults.schemasDescription),
    includeTables: NameList('Include tables', 'Only these tables: globs (`hr_*`, `hr.*`) or /regular expressions/ (empty: all)'),
    excludeTables: NameList('Exclude tables', 'Skip these tables: globs or /regular expressions/; exclusion wins'),
    connectTimeoutMs: Type.Integer({ minimum: 500, maximum: 120_000, default: 10_000, title: 'Connect timeout (ms)' }),
    statementTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, title: 'Statement timeout (ms)' }),
    poolSize: Type.Integer({ minimum: 1, maximum: 20, default: 2, title: 'Connections' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000, title: 'Rows per batch' }),
  });
}
export type SqlDatabaseConfig = Static<ReturnType<typeof sqlDatabaseConfig>>;

export const SQL_DATABASE_STEPS: WizardStep[] = [
  { id: 'connection', title: 'Connection', fields: ['host', 'port', 'database'] },
  { id: 'authentication', title: 'Authentication', fields: ['user', 'password'] },
  { id: 'tls', title: 'Encryption', fields: ['tlsMode', 'tlsCaCertificate', 'tlsClientCertificate', 'tlsClientKey', 'tlsServerName'] },
  {
    id: 'scope',
    title: 'Scope and limits',
    fields: ['schemas', 'includeTables', 'excludeTables', 'connectTimeoutMs', 'statementTimeoutMs', 'poolSize', 'batchSize'],
  },
];

export const SQL_DATABASE_CAPABILITIES: ConnectorCapabilities = {
  discovery: true,
  incremental: 'cursor',
  webhooks: false,
  targetedRead: true,
};

type TlsConfig = Pick<SqlDatabaseConfig, 'host' | 'tlsMode' | 'tlsCaCertificate' | 'tlsClientCertificate' | 'tlsClientKey' | 'tlsServerName'>;

/** Node TLS options for a driver's `ssl` setting; undefined means plain TCP. */
export function sqlTlsOptions(config: TlsConfig): ConnectionOptions | undefined {
  const mode = config.tlsMode ?? 'verify-full';
  if (mode === 'disable') return undefined;
  const opts: ConnectionOptions = { rejectUnauthorized: mode === 'verify-full' };
  if (config.tlsCaCertificate) opts.ca = config.tlsCaCertificate;
  if (config.tlsClientCertificate) opts.cert = config.tlsClientCertificate;
  if (config.tlsClientKey) opts.key = config.tlsClientKey;
  const serverName = config.tlsServerName ?? (isIP(config.host) ? undefined : config.host);
  if (serverName) opts.servername = serverName;
  return opts;
}
