/**
 * The PostgreSQL client: a small pg pool (TLS, timeouts, read-only UTC sessions), driver errors
 * mapped to SourceError kinds, and streaming through pg-cursor for keyless reads.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import { mapDriverError, type DriverError } from '../sdk/driver-errors.ts';
import type { SourceError, SourceErrorKind } from '../sdk/errors.ts';
import { toJsonValue } from '../sdk/read-helpers.ts';
import { sqlTlsOptions } from '../sdk/sql-config.ts';
import type { SqlClient, SqlClientFactory } from '../sdk/sql-connection.ts';
import { exactDecimal, sqlTimestampToIso, type SqlQuery } from '../sdk/sql-dialect.ts';
import type { ConnectorContext, ConnectorLogger } from '../sdk/types.ts';
import type { PostgresConfig } from './spec.ts';

export const SOURCE = 'postgresql';

/** SQLSTATEs with a meaning the service acts on; whole classes are handled below. */
const SQLSTATE_KINDS: Record<string, SourceErrorKind> = {
  '28P01': 'auth', // invalid_password
  '28000': 'auth', // invalid_authorization_specification (no pg_hba entry, role cannot log in)
  '3D000': 'config', // invalid_catalog_name: the database does not exist
  '3F000': 'config', // invalid_schema_name
  '42P01': 'config', // undefined_table
  '42703': 'config', // undefined_column
  '42501': 'permission', // insufficient_privilege
  '57014': 'timeout', // query_canceled (statement_timeout)
  '53300': 'transient', // too_many_connections
  '40001': 'transient', // serialization_failure
  '40P01': 'transient', // deadlock_detected
};

export function classifyPostgresError(err: DriverError & { severity?: string }): SourceErrorKind | undefined {
  const code = err.code;
  if (code && err.severity !== undefined) {
    const known = SQLSTATE_KINDS[code];
    if (known) return known;
    if (code.startsWith('08')) return 'unreachable'; // connection_exception
    if (code.startsWith('28')) return 'auth';
    if (code.startsWith('53') || code.startsWith('57P')) return 'transient'; // resources, admin shutdown
    if (code.startsWith('42')) return 'config';
    return undefined;
  }
  const message = err.message ?? '';
  if (/does not support SSL/i.test(message)) return 'tls';
  if (/timeout expired|connection timeout/i.test(message)) return 'timeout';
  return undefined;
}

/** pg-types' enum of built-in OIDs, as a type */
type TypeId = Parameters<typeof pg.types.getTypeParser>[0];

const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184, dateArray: 1182, textArray: 1009 } as const;

/** int8 → number when safe, numeric → exact, timestamps → ISO with every digit, dates stay text. */
const TEXT_PARSERS: Record<number, (text: string) => unknown> = {
  [OID.int8]: (t) => toJsonValue(BigInt(t)),
  [OID.numeric]: exactDecimal,
  [OID.date]: (t) => t,
  [OID.timestamp]: sqlTimestampToIso,
  [OID.timestamptz]: sqlTimestampToIso,
  [OID.dateArray]: pg.types.getTypeParser(OID.textArray as number as TypeId, 'text') as (t: string) => unknown,
};

const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const parser = format === 'binary' ? undefined : TEXT_PARSERS[oid];
    return parser ?? pg.types.getTypeParser(oid as TypeId, format ?? 'text');
  },
} as pg.CustomTypesConfig;

export function postgresPoolConfig(config: PostgresConfig): pg.PoolConfig {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: sqlTlsOptions(config) ?? false,
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.statementTimeoutMs,
    max: config.poolSize,
    idleTimeoutMillis: 10_000,
    application_name: 'pip-service',
    options: '-c TimeZone=UTC -c default_transaction_read_only=on',
    types: typeParsers,
  };
}

export class PostgresClient implements SqlClient {
  private readonly pool: pg.Pool;
  private readonly target: string;

  constructor(
    private readonly config: PostgresConfig,
    logger: ConnectorLogger,
  ) {
    this.pool = new pg.Pool(postgresPoolConfig(config));
    this.target = `${config.host}:${config.port}`;
    // an idle connection dropped by the server must not crash the process
    this.pool.on('error', (err) => logger.warn({ source: SOURCE, err: this.toSourceError(err, 'idle connection').message }, 'connection lost'));
  }

  toSourceError(err: unknown, action: string): SourceError {
    const { password, tlsClientKey, tlsClientCertificate } = this.config;
    return mapDriverError(SOURCE, err, { target: this.target, secrets: [password, tlsClientKey, tlsClientCertificate], classify: classifyPostgresError, action });
  }

  async query(query: SqlQuery): Promise<Array<Record<string, unknown>>> {
    try {
      const result = await this.pool.query(query.text, query.values);
      return result.rows as Array<Record<string, unknown>>;
    } catch (err) {
      throw this.toSourceError(err, 'query');
    }
  }

  /** One query through a server-side cursor, `batchSize` rows at a time. */
  async *stream(query: SqlQuery, batchSize: number): AsyncGenerator<Array<Record<string, unknown>>> {
    let conn: pg.PoolClient;
    try {
      conn = await this.pool.connect();
    } catch (err) {
      throw this.toSourceError(err, 'connect');
    }
    const cursor = conn.query(new Cursor<Record<string, unknown>>(query.text, query.values, { types: typeParsers }));
    let failed: unknown;
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length === 0) return;
        yield rows;
        if (rows.length < batchSize) return;
      }
    } catch (err) {
      failed = err;
      throw this.toSourceError(err, 'read');
    } finally {
      await cursor.close().catch(() => undefined);
      // a connection whose cursor failed is not given back to the pool
      conn.release(failed instanceof Error ? failed : undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.race([this.pool.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

export const postgresClientFactory: SqlClientFactory<PostgresConfig, PostgresClient> = {
  source: SOURCE,
  host: (config) => config.host,
  open: (config: PostgresConfig, ctx: ConnectorContext) => new PostgresClient(config, ctx.logger),
};
