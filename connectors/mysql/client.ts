/**
 * The MySQL / MariaDB client: a small mysql2 pool (TLS, timeouts), sessions prepared once per
 * connection (UTC, read-only, statement timeout by flavour), exact value conversion from field
 * metadata, driver errors
 * mapped to SourceError kinds, and streaming through the protocol's row stream for keyless reads.
 */
import mysql from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import type { ExecuteValues, FieldPacket, Pool, PoolConnection, SslOptions } from 'mysql2/promise';
import { mapDriverError, type DriverError } from '../sdk/driver-errors.ts';
import type { SourceError, SourceErrorKind } from '../sdk/errors.ts';
import { sqlTlsOptions } from '../sdk/sql-config.ts';
import type { SqlClient, SqlClientFactory } from '../sdk/sql-connection.ts';
import { exactDecimal, sqlTimestampToIso, type SqlQuery } from '../sdk/sql-dialect.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { flavourOf, type MysqlFlavour } from './dialect.ts';
import type { MysqlConfig } from './spec.ts';

export const SOURCE = 'mysql';

type Row = Record<string, unknown>;

const ERROR_KINDS: Record<string, SourceErrorKind> = {
  ER_ACCESS_DENIED_ERROR: 'auth', // 1045
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'auth', // 1698
  ER_NOT_SUPPORTED_AUTH_MODE: 'auth', // 1251
  ER_HOST_NOT_PRIVILEGED: 'auth', // 1130
  ER_DBACCESS_DENIED_ERROR: 'permission', // 1044: authenticated, no grant on the database
  ER_TABLEACCESS_DENIED_ERROR: 'permission', // 1142
  ER_COLUMNACCESS_DENIED_ERROR: 'permission', // 1143
  ER_SPECIFIC_ACCESS_DENIED_ERROR: 'permission', // 1227
  ER_BAD_DB_ERROR: 'config', // 1049: the database does not exist
  ER_NO_SUCH_TABLE: 'config', // 1146
  ER_BAD_FIELD_ERROR: 'config', // 1054
  ER_QUERY_TIMEOUT: 'timeout', // 3024, MySQL max_execution_time
  ER_STATEMENT_TIMEOUT: 'timeout', // 1969, MariaDB max_statement_time
  ER_QUERY_INTERRUPTED: 'timeout', // 1317
  PROTOCOL_SEQUENCE_TIMEOUT: 'timeout',
  ER_CON_COUNT_ERROR: 'transient', // 1040
  ER_LOCK_DEADLOCK: 'transient', // 1213
  ER_LOCK_WAIT_TIMEOUT: 'transient', // 1205
  PROTOCOL_CONNECTION_LOST: 'transient',
  HANDSHAKE_NO_SSL_SUPPORT: 'tls',
};

/** MariaDB-only error numbers mysql2 has no code name for. */
const ERRNO_KINDS: Record<number, SourceErrorKind> = {
  1969: 'timeout', // ER_STATEMENT_TIMEOUT: max_statement_time exceeded
};

export function classifyMysqlError(err: DriverError): SourceErrorKind | undefined {
  return (err.code ? ERROR_KINDS[err.code] : undefined) ?? (err.errno ? ERRNO_KINDS[err.errno] : undefined);
}

/** mysql2 column type numbers (mysql2/lib/constants/types). */
const TYPE = { TINY: 1, TIMESTAMP: 7, DATE: 10, DATETIME: 12, NEWDATE: 14, BIT: 16, NEWDECIMAL: 246 } as const;

type Convert = (value: unknown) => unknown;

/** tinyint(1) / bit(1) → boolean, decimals → exact numbers, datetimes → ISO with every fractional digit. */
function converterFor(field: FieldPacket): Convert | undefined {
  switch (field.columnType) {
    case TYPE.TINY:
      return field.columnLength === 1 ? (v) => Number(v) !== 0 : undefined;
    case TYPE.BIT:
      return field.columnLength === 1 ? (v) => (v as Buffer)[0] === 1 : undefined;
    case TYPE.NEWDECIMAL:
      return (v) => exactDecimal(String(v));
    case TYPE.DATETIME:
    case TYPE.TIMESTAMP:
      return (v) => sqlTimestampToIso(String(v));
    case TYPE.DATE:
    case TYPE.NEWDATE:
      return (v) => (String(v).startsWith('0000-00-00') ? null : v);
    default:
      return undefined;
  }
}

/**
 * Converts rows in place from the result's field metadata. (A mysql2 `typeCast` function would
 * do the same per value but makes row parsing about ten times slower.)
 */
function rowConverter(fields: FieldPacket[] | undefined): (row: Row) => Row {
  const converters = (fields ?? []).flatMap((f) => {
    const convert = converterFor(f);
    return convert ? [[f.name, convert] as const] : [];
  });
  if (converters.length === 0) return (row) => row;
  return (row) => {
    for (const [name, convert] of converters) {
      const v = row[name];
      if (v !== null && v !== undefined) row[name] = convert(v);
    }
    return row;
  };
}

export function mysqlPoolOptions(config: MysqlConfig): mysql.PoolOptions {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    // mysql2 passes these to tls.connect and verifies against config.host (tlsServerName is not supported)
    ssl: sqlTlsOptions(config) as SslOptions | undefined,
    connectTimeout: config.connectTimeoutMs,
    connectionLimit: config.poolSize,
    maxIdle: config.poolSize,
    idleTimeout: 10_000,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    multipleStatements: false,
  };
}

export class MysqlClient implements SqlClient {
  private readonly pool: Pool;
  private readonly target: string;
  private readonly prepared = new WeakSet<object>();
  private flavour?: MysqlFlavour;

  constructor(private readonly config: MysqlConfig) {
    this.pool = mysql.createPool(mysqlPoolOptions(config));
    this.target = `${config.host}:${config.port}`;
  }

  toSourceError(err: unknown, action: string): SourceError {
    const { password, tlsClientKey, tlsClientCertificate } = this.config;
    return mapDriverError(SOURCE, err, { target: this.target, secrets: [password, tlsClientKey, tlsClientCertificate], classify: classifyMysqlError, action });
  }

  /** A pooled connection whose session is UTC, read-only and has a statement timeout. */
  private async acquire(): Promise<PoolConnection> {
    const conn = await this.pool.getConnection();
    if (this.prepared.has(conn.connection)) return conn;
    try {
      if (!this.flavour) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
        this.flavour = flavourOf(String(rows[0]?.version ?? ''));
      }
      const timeout = this.flavour.statementTimeout(this.config.statementTimeoutMs);
      await conn.query("SET time_zone = '+00:00'");
      await conn.query('SET SESSION TRANSACTION READ ONLY');
      await conn.query(timeout.text, timeout.values as ExecuteValues[]);
      this.prepared.add(conn.connection);
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  async query(query: SqlQuery): Promise<Row[]> {
    let conn: PoolConnection | undefined;
    try {
      conn = await this.acquire();
      const [rows, fields] = await conn.execute<mysql.RowDataPacket[]>(query.text, query.values as ExecuteValues[]);
      return (rows as Row[]).map(rowConverter(fields));
    } catch (err) {
      throw this.toSourceError(err, 'query');
    } finally {
      conn?.release();
    }
  }

  /** One query streamed row by row (with backpressure), handed out in batches of `batchSize`. */
  async *stream(query: SqlQuery, batchSize: number): AsyncGenerator<Row[]> {
    let conn: PoolConnection;
    try {
      conn = await this.acquire();
    } catch (err) {
      throw this.toSourceError(err, 'connect');
    }
    let finished = false;
    try {
      // the promise wrapper hides the core connection's row stream; it is the same object underneath
      const core = conn.connection as unknown as CoreConnection;
      const rows = core.execute(query.text, query.values as ExecuteValues[]).stream({ highWaterMark: batchSize });
      let convert = rowConverter(undefined);
      rows.once('fields', (fields: FieldPacket[]) => (convert = rowConverter(fields)));
      let batch: Row[] = [];
      for await (const row of rows as AsyncIterable<Row>) {
        batch.push(convert(row));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
      finished = true;
    } catch (err) {
      throw this.toSourceError(err, 'read');
    } finally {
      // a result left half-read would poison the connection: drop it instead of pooling it
      if (finished) conn.release();
      else conn.destroy();
    }
  }

  async serverFlavour(): Promise<MysqlFlavour> {
    (await this.acquire()).release();
    return this.flavour as MysqlFlavour;
  }

  async close(): Promise<void> {
    await Promise.race([this.pool.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

export const mysqlClientFactory: SqlClientFactory<MysqlConfig, MysqlClient> = {
  source: SOURCE,
  host: (config) => config.host,
  open: (config: MysqlConfig, _ctx: ConnectorContext) => new MysqlClient(config),
};
