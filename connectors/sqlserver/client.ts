/**
 * SQL Server through tedious: one connection per check / discover / read (tedious runs one
 * request at a time; readers are sequential), TLS options, timeouts, and the mapping of TDS error
 * numbers to SourceError kinds. `session` is the SDK's SqlSession seam: bounded `query` pages and
 * a back-pressured `stream` (request.pause / resume) for keyless streams.
 */
import { Connection, Request, type ConnectionConfiguration } from 'tedious';
import { findNetworkError } from '../sdk/error-chain.ts';
import { SourceError, isSourceError, type SourceErrorKind } from '../sdk/errors.ts';
import { redact } from '../sdk/driver-errors.ts';
import type { SqlClient, SqlClientFactory, SqlQuery } from '../sdk/sql.ts';
import type { CheckDetails } from '../sdk/types.ts';
import { SOURCE } from './dialect.ts';
import { boundParam, keysetValueOf, type TediousColumn } from './keyset-values.ts';
import type { SqlServerConfig } from './spec.ts';

/** Result columns the SDK planner adds for keyset positions (sql-plan.ts HELPER_PREFIX). */
const HELPER_COLUMN = /^__pip_k\d+$/;

/** SQL Server error numbers (sys.messages) and what they mean for us. */
const ERROR_NUMBERS: Record<number, SourceErrorKind> = {
  18456: 'auth', // Login failed for user
  18452: 'auth', // login is from an untrusted domain
  18486: 'auth', // account is locked out
  18487: 'auth', // password expired
  18488: 'auth', // password must be changed
  4060: 'config', // Cannot open database requested by the login
  4063: 'config', // Cannot open default database
  4064: 'config', // Cannot open user default database
  911: 'config', // Database does not exist
  208: 'config', // Invalid object name
  207: 'config', // Invalid column name
  229: 'permission', // The SELECT permission was denied on the object
  230: 'permission', // permission denied on a column
  262: 'permission', // permission denied in database
  297: 'permission', // The user does not have permission to perform this action
  300: 'permission', // VIEW ... permission was denied
  916: 'permission', // server principal is not able to access the database
  1205: 'transient', // deadlock victim
  1222: 'transient', // lock request time out
  [-2]: 'timeout', // timeout expired
  40613: 'transient', // Azure SQL: database not currently available
  40501: 'transient', // Azure SQL: service is busy
  40197: 'transient', // Azure SQL: error processing the request
  49918: 'transient',
  49919: 'transient',
  49920: 'transient',
  10928: 'transient', // resource limit reached
  10929: 'transient',
};

interface ServerMessage {
  number?: number;
  message?: string;
}

export function sqlServerTarget(config: SqlServerConfig): string {
  return config.instanceName ? `${config.host}\\${config.instanceName}` : `${config.host}:${config.port}`;
}

export function tediousConfig(config: SqlServerConfig): ConnectionConfiguration {
  return {
    server: config.host,
    authentication: { type: 'default', options: { userName: config.user, password: config.password } },
    options: {
      // tedious refuses a port together with an instance name: the SQL Browser finds the port
      ...(config.instanceName ? { instanceName: config.instanceName } : { port: config.port }),
      database: config.database,
      encrypt: config.strictEncryption ? 'strict' : config.encrypt,
      trustServerCertificate: config.trustServerCertificate,
      ...(config.caCertificate ? { cryptoCredentialsDetails: { ca: config.caCertificate } } : {}),
      ...(config.tlsServerName ? { serverName: config.tlsServerName } : {}),
      connectTimeout: config.connectTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      cancelTimeout: 5000,
      appName: 'pip-service',
      readOnlyIntent: true,
      useUTC: true,
      useColumnNames: false,
      rowCollectionOnRequestCompletion: false,
      maxRetriesOnTransientErrors: 0,
    },
  };
}

function numberOf(err: unknown, serverMessage?: ServerMessage): number | undefined {
  const n = (err as { number?: unknown }).number;
  if (typeof n === 'number') return n;
  const members = (err as { errors?: unknown }).errors;
  if (Array.isArray(members)) {
    for (const m of members) {
      const inner = numberOf(m);
      if (inner !== undefined) return inner;
    }
  }
  return serverMessage?.number;
}

/**
 * Maps tedious errors to SourceErrors. Login errors arrive as ConnectionError('ELOGIN') without
 * the server's number; the connection's last `errorMessage` token supplies it (`serverMessage`).
 * Driver text is kept (with the password scrubbed, should a driver ever echo it).
 */
export function classifySqlServerError(err: unknown, config: SqlServerConfig, serverMessage?: ServerMessage, action = 'query'): SourceError {
  if (isSourceError(err)) return err;
  const target = sqlServerTarget(config);
  const e = err as { code?: string; message?: string };
  const original = e.message ?? String(err);
  const text = redact(original, [config.password]);
  const cause = text === original ? err : undefined;
  const number = numberOf(err, e.code === 'ELOGIN' ? serverMessage : undefined);
  const serverText = serverMessage?.message ?? text;
  const detail = number === undefined ? undefined : { number };
  const byNumber = number === undefined ? undefined : ERROR_NUMBERS[number];
  const fail = (kind: SourceErrorKind, message: string) => new SourceError(SOURCE, message, { kind, cause, detail });

  if (e.code === 'ELOGIN') {
    if (byNumber === 'config' || (byNumber === undefined && /cannot open (user default )?database/i.test(serverText))) {
      return fail('config', `database ${JSON.stringify(config.database)} cannot be opened on ${target}${number ? ` (error ${number})` : ''}`);
    }
    if (byNumber === undefined || byNumber === 'auth') return fail('auth', `login to ${target} failed${number ? ` (error ${number})` : ''}`);
  }
  if (byNumber) return fail(byNumber, `${action} failed: ${text} (error ${number})`);
  switch (e.code) {
    case 'ETIMEOUT':
      return fail('timeout', `${action} on ${target} did not finish in time`);
    case 'EINSTLOOKUP':
      return fail('unreachable', `instance ${JSON.stringify(config.instanceName)} not found through the SQL Browser on ${config.host}`);
    case 'EENCRYPT':
      return fail('tls', `${target} requires encryption: enable "encrypt"`);
    case 'ECANCEL':
      return fail('cancelled', `${action} cancelled`);
    default:
      break;
  }
  const network = findNetworkError(SOURCE, err, target);
  if (network) return network;
  if (e.code === 'ESOCKET') return fail(/certificate|ssl|tls|handshake/i.test(text) ? 'tls' : 'unreachable', `connection to ${target} failed: ${text}`);
  if (e.code === 'EREQUEST') return fail('protocol', `${action} failed: ${text}`);
  return fail('transient', `${action} failed: ${text}`);
}

/** A row as the reader sees it: column name → value; helper columns become keyset values. */
export function rowFromColumns(columns: TediousColumn[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of columns) {
    const name = column.metadata.colName;
    row[name] = HELPER_COLUMN.test(name) ? keysetValueOf(column) : column.value;
  }
  return row;
}

export function buildRequest(query: SqlQuery, callback: (err: Error | null | undefined) => void): Request {
  const request = new Request(query.text, (err) => callback(err));
  query.values.forEach((value, i) => {
    const p = boundParam(value);
    request.addParameter(`p${i + 1}`, p.type, p.value, p.options);
  });
  return request;
}

/** The part of tedious's Connection the client uses (a fake stands in for it in tests). */
export interface TediousConnection {
  readonly closed: boolean;
  execSql(request: Request): void;
  cancel(): boolean;
  close(): void;
  on(event: 'errorMessage', listener: (token: ServerMessage) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end', listener: () => void): unknown;
}

/**
 * A SQL Server session for one verb. It logs in on first use (the SDK's lifecycle guards the host
 * first) and closes when the verb ends or the caller's signal aborts.
 */
export class SqlServerClient implements SqlClient {
  private lastServerMessage: ServerMessage | undefined;
  private connection: TediousConnection | undefined;
  private ready: Promise<TediousConnection> | undefined;

  constructor(
    readonly config: SqlServerConfig,
    opts: { signal?: AbortSignal; connection?: TediousConnection } = {},
  ) {
    if (opts.connection) {
      this.adopt(opts.connection);
      this.ready = Promise.resolve(opts.connection);
    }
    opts.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  private adopt(connection: TediousConnection): void {
    this.connection = connection;
    connection.on('errorMessage', (token: ServerMessage) => {
      this.lastServerMessage = { number: token.number, message: token.message };
    });
    connection.on('error', () => undefined); // socket errors after login surface on the request
  }

  private session(): Promise<TediousConnection> {
    this.ready ??= (async () => {
      const connection = new Connection(tediousConfig(this.config));
      this.adopt(connection);
      try {
        await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
      } catch (err) {
        connection.close();
        throw this.toSourceError(err, 'connect');
      }
      return connection;
    })();
    return this.ready;
  }

  toSourceError(err: unknown, action: string): SourceError {
    return classifySqlServerError(err, this.config, this.lastServerMessage, action);
  }

  async query(query: SqlQuery): Promise<Array<Record<string, unknown>>> {
    const connection = await this.session();
    const rows: Array<Record<string, unknown>> = [];
    this.lastServerMessage = undefined;
    await new Promise<void>((resolve, reject) => {
      const request = buildRequest(query, (err) => (err ? reject(err) : resolve()));
      request.on('row', (columns: TediousColumn[]) => rows.push(rowFromColumns(columns)));
      connection.execSql(request);
    }).catch((err: unknown) => {
      throw this.toSourceError(err, 'query');
    });
    return rows;
  }

  /** Yields rows in batches; pauses the request while the consumer works on a full batch. */
  async *stream(query: SqlQuery, batchSize: number): AsyncIterable<Array<Record<string, unknown>>> {
    const connection = await this.session();
    let buffer: Array<Record<string, unknown>> = [];
    let done = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const request = buildRequest(query, (err) => {
      done = true;
      failure = err ?? undefined;
      notify();
    });
    request.on('row', (columns: TediousColumn[]) => {
      buffer.push(rowFromColumns(columns));
      if (buffer.length >= batchSize) {
        request.pause();
        notify();
      }
    });
    this.lastServerMessage = undefined;
    connection.execSql(request);
    try {
      for (;;) {
        if (buffer.length >= batchSize || (done && buffer.length > 0)) {
          const batch = buffer;
          buffer = [];
          yield batch;
          if (!done) request.resume();
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) throw this.toSourceError(failure, 'read');
    } finally {
      if (!done) {
        // the consumer stopped early: cancel and wait for the request to end
        const finished = new Promise<void>((resolve) => (wake = resolve));
        connection.cancel();
        request.resume();
        await finished;
      }
    }
  }

  /** A cheap query proving the login works and what it can see. */
  async serverInfo(): Promise<CheckDetails> {
    const rows = await this.query({
      text:
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version, DB_NAME() AS database_name, " +
        "SUSER_SNAME() AS login_name, (SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE IN ('BASE TABLE', 'VIEW')) AS visible_tables",
      values: [],
    });
    const row = rows[0] ?? {};
    return { serverVersion: row.version, database: row.database_name, user: row.login_name, visibleTables: row.visible_tables };
  }

  async close(): Promise<void> {
    const connection = this.connection;
    if (!connection || connection.closed) return;
    await new Promise<void>((resolve) => {
      connection.once('end', () => resolve());
      connection.close();
    });
  }
}

export const sqlServerClientFactory: SqlClientFactory<SqlServerConfig, SqlServerClient> = {
  source: SOURCE,
  host: (config) => config.host,
  open: (config, ctx) => new SqlServerClient(config, { signal: ctx.signal }),
};
