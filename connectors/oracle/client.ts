/**
 * Oracle through node-oracledb Thin mode: a connect descriptor built from validated fields, TLS
 * (TCPS) with an optional PEM wallet, connect / call timeouts, a session with fixed NLS settings
 * (so dates, timestamps and numbers convert to and from text exactly and strings sort binary),
 * and the mapping of ORA- / NJS- errors to SourceError kinds.
 */
import { redact } from '../sdk/driver-errors.ts';
import { findNetworkError } from '../sdk/error-chain.ts';
import { SourceError, isSourceError, type SourceErrorKind } from '../sdk/errors.ts';
import { exactDecimal, type SqlClient, type SqlClientFactory, type SqlQuery } from '../sdk/sql.ts';
import type { CheckDetails } from '../sdk/types.ts';
import { SOURCE } from './dialect.ts';
import { oracledb, type FetchTypeResult, type OracleColumnMetadata, type OracleConnection, type OracleDb, type OracleResultSet } from './driver.ts';
import type { OracleConfig } from './spec.ts';

/** Result columns the SDK planner adds for keyset positions (sql-plan.ts HELPER_PREFIX). */
const HELPER_COLUMN = /^__pip_k\d+$/;

/** Text formats every session uses; bound keyset text converts back through the same formats. */
export const SESSION_SETUP =
  "ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS' " +
  "NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9' " +
  "NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9TZH:TZM' " +
  "NLS_NUMERIC_CHARACTERS = '.,' NLS_SORT = BINARY NLS_COMP = BINARY TIME_ZONE = '+00:00'";

const ORA_CODES: Record<string, SourceErrorKind> = {
  'ORA-01017': 'auth', // invalid username/password; logon denied
  'ORA-28000': 'auth', // the account is locked
  'ORA-28001': 'auth', // the password has expired
  'ORA-01005': 'auth', // null password given
  'ORA-01045': 'permission', // user lacks CREATE SESSION privilege
  'ORA-00942': 'permission', // table or view does not exist (or no privilege on it)
  'ORA-01031': 'permission', // insufficient privileges
  'ORA-00904': 'config', // invalid identifier
  'ORA-12514': 'config', // listener does not know of the service
  'ORA-12505': 'config', // listener does not know of the SID
  'ORA-28040': 'config', // no matching authentication protocol
  'ORA-12541': 'unreachable', // no listener
  'ORA-12170': 'timeout', // connect timeout
  'ORA-01013': 'timeout', // user requested cancel (call timeout)
  'ORA-00060': 'transient', // deadlock
  'ORA-00054': 'transient', // resource busy
  'ORA-01555': 'transient', // snapshot too old
  'ORA-12516': 'transient', // listener could not find an available handler
  'ORA-12520': 'transient',
  'ORA-12528': 'transient', // instance blocking new connections
};

const NJS_CODES: Record<string, SourceErrorKind> = {
  'NJS-518': 'config', // service not registered with the listener (ORA-12514)
  'NJS-519': 'config', // SID not registered with the listener (ORA-12505)
  'NJS-512': 'config', // invalid connect string parameters
  'NJS-514': 'config',
  'NJS-515': 'config',
  'NJS-116': 'auth', // password verifier type not supported by Thin mode
  'NJS-510': 'timeout', // connect timeout
  'NJS-123': 'timeout', // call timeout
  'NJS-040': 'timeout',
  'NJS-530': 'dns', // host unresolvable
  'NJS-511': 'unreachable', // listener refused the connection
  'NJS-505': 'tls',
  'NJS-506': 'tls',
  'NJS-507': 'tls',
  'NJS-508': 'tls',
};

/** errors that mean "the connection broke": unreachable while connecting, transient afterwards */
const BROKEN = new Set(['NJS-500', 'NJS-501', 'NJS-503', 'NJS-521']);

export function oracleTarget(config: OracleConfig): string {
  return `${config.host}:${config.port}/${config.serviceName ?? config.sid ?? '?'}`;
}

/** The Oracle Net connect descriptor; every value was checked against a safe pattern by the spec. */
export function connectDescriptor(config: OracleConfig): string {
  const safe = /^[A-Za-z0-9_.$#:-]+$/;
  const target = config.serviceName ? `(SERVICE_NAME=${config.serviceName})` : config.sid ? `(SID=${config.sid})` : undefined;
  if (!target) throw new SourceError(SOURCE, 'give a service name or a SID', { kind: 'config' });
  for (const value of [config.host, config.serviceName, config.sid]) {
    if (value !== undefined && !safe.test(value)) {
      throw new SourceError(SOURCE, 'host, service name and SID may only hold letters, digits and . _ - $ # :', { kind: 'config' });
    }
  }
  const protocol = config.tls ? 'TCPS' : 'TCP';
  return `(DESCRIPTION=(ADDRESS=(PROTOCOL=${protocol})(HOST=${config.host})(PORT=${config.port}))(CONNECT_DATA=${target}))`;
}

/** The errno a Thin-mode NJS-503 quotes in its text (`connect ECONNREFUSED 10.0.0.1:1521`). */
function quotedErrno(message: string): string | undefined {
  return /\b(E[A-Z]{3,}|ERR_[A-Z_]+|[A-Z_]*CERT[A-Z_]*)\b/.exec(message)?.[1];
}

/** Maps oracledb errors to SourceErrors; `phase` tells a broken connect from a broken query. */
export function classifyOracleError(err: unknown, config: OracleConfig, phase: 'connect' | 'query'): SourceError {
  if (isSourceError(err)) return err;
  const target = oracleTarget(config);
  const e = err as { code?: string; errorNum?: number; message?: string };
  const code = e.code ?? /^((?:ORA|NJS|DPI)-\d+)/.exec(e.message ?? '')?.[1] ?? '';
  const message = redact((e.message ?? String(err)).split('\n')[0] ?? '', [config.password, config.walletPassword]);
  const detail = code ? { code } : undefined;
  const kind = ORA_CODES[code] ?? NJS_CODES[code];
  if (kind === 'auth') return new SourceError(SOURCE, `login to ${target} failed (${code})`, { kind, cause: err, detail });
  if (kind) return new SourceError(SOURCE, message, { kind, cause: err, detail });
  if (BROKEN.has(code)) {
    const errno = quotedErrno(e.message ?? '');
    const network = findNetworkError(SOURCE, errno ? { code: errno } : err, target);
    if (network) return new SourceError(SOURCE, network.message.slice(SOURCE.length + 2), { kind: network.kind, cause: err, detail });
    return new SourceError(SOURCE, `connection to ${target} broke: ${message}`, {
      kind: phase === 'connect' ? 'unreachable' : 'transient',
      cause: err,
      detail,
    });
  }
  const network = findNetworkError(SOURCE, err, target);
  if (network) return network;
  if (code.startsWith('ORA-')) return new SourceError(SOURCE, message, { kind: 'protocol', cause: err, detail });
  return new SourceError(SOURCE, `unexpected error: ${message}`, { kind: 'transient', cause: err, detail });
}

/** Thin mode prints NUMBER as `.5` / `-.5`; give exactDecimal the canonical `0.5`. */
export function oracleNumberText(text: string): number | string {
  return exactDecimal(text.replace(/^(-?)\./, '$10.'));
}

/**
 * How columns are fetched: keyset helper columns always as text (exact), dates and timestamps as
 * text in the session's ISO formats (no client time-zone shift), CLOB as string, BLOB as bytes,
 * NUMBER beyond 15 digits as exact text when a JavaScript number would round.
 */
export function fetchTypeFor(db: OracleDb, meta: OracleColumnMetadata): FetchTypeResult | undefined {
  const type = meta.dbTypeName ?? '';
  if (HELPER_COLUMN.test(meta.name)) {
    return type === 'BLOB' || type === 'CLOB' || type === 'NCLOB' ? undefined : { type: db.STRING };
  }
  switch (type) {
    case 'DATE':
    case 'TIMESTAMP':
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMP WITH LOCAL TIME ZONE':
    case 'CLOB':
    case 'NCLOB':
      return { type: db.STRING };
    case 'BLOB':
      return { type: db.BUFFER };
    case 'NUMBER': {
      const smallInteger = meta.scale === 0 && (meta.precision ?? 0) > 0 && (meta.precision ?? 0) <= 15;
      if (smallInteger) return undefined;
      return { type: db.STRING, converter: (v) => (typeof v === 'string' ? oracleNumberText(v) : v) };
    }
    default:
      return undefined;
  }
}

/**
 * An Oracle session for one verb: connects on first use (the SDK's lifecycle guards the host
 * first), sets the session's NLS formats, and closes when the verb ends or the signal aborts.
 */
export class OracleClient implements SqlClient {
  private connection: OracleConnection | undefined;
  private ready: Promise<{ connection: OracleConnection; schema: string }> | undefined;
  private closed = false;

  constructor(
    readonly config: OracleConfig,
    opts: { signal?: AbortSignal; driver?: () => OracleDb } = {},
  ) {
    this.driver = opts.driver ?? oracledb;
    opts.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  private readonly driver: () => OracleDb;

  private session(): Promise<{ connection: OracleConnection; schema: string }> {
    this.ready ??= this.open();
    return this.ready;
  }

  private async open(): Promise<{ connection: OracleConnection; schema: string }> {
    const config = this.config;
    const db = this.driver();
    try {
      const connection = await db.getConnection({
        user: config.user,
        password: config.password,
        connectString: connectDescriptor(config),
        connectTimeout: Math.ceil(config.connectTimeoutMs / 1000),
        transportConnectTimeout: Math.ceil(config.connectTimeoutMs / 1000),
        ...(config.walletPem ? { walletContent: config.walletPem } : {}),
        ...(config.walletPassword ? { walletPassword: config.walletPassword } : {}),
        sslServerDNMatch: config.sslServerDnMatch,
        ...(config.sslServerCertDn ? { sslServerCertDN: config.sslServerCertDn } : {}),
        stmtCacheSize: 0,
        driverName: 'pip-service : oracledb thin',
      });
      this.connection = connection;
      if (this.closed) throw new SourceError(SOURCE, 'connect was cancelled', { kind: 'cancelled' });
      connection.callTimeout = config.callTimeoutMs;
      await connection.execute(SESSION_SETUP);
      const result = await connection.execute<Record<string, unknown>>(
        "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AS CURRENT_SCHEMA FROM DUAL",
        [],
        { outFormat: db.OUT_FORMAT_OBJECT },
      );
      return { connection, schema: String(result.rows?.[0]?.CURRENT_SCHEMA ?? config.user.toUpperCase()) };
    } catch (err) {
      await this.close();
      throw this.toSourceError(err, 'connect');
    }
  }

  /** the session's current schema: streams in it are named without an owner prefix */
  async currentSchema(): Promise<string> {
    return (await this.session()).schema;
  }

  toSourceError(err: unknown, action: string): SourceError {
    return classifyOracleError(err, this.config, action === 'connect' ? 'connect' : 'query');
  }

  private options(extra: { resultSet?: boolean; fetchArraySize?: number } = {}) {
    const db = this.driver();
    return {
      outFormat: db.OUT_FORMAT_OBJECT,
      fetchTypeHandler: (meta: OracleColumnMetadata) => fetchTypeFor(db, meta),
      ...extra,
    };
  }

  async query(query: SqlQuery): Promise<Array<Record<string, unknown>>> {
    const { connection } = await this.session();
    try {
      const result = await connection.execute<Record<string, unknown>>(query.text, query.values, this.options());
      return result.rows ?? [];
    } catch (err) {
      throw this.toSourceError(err, 'query');
    }
  }

  /** One query through a result set, `batchSize` rows per round trip; closed early if the consumer stops. */
  async *stream(query: SqlQuery, batchSize: number): AsyncIterable<Array<Record<string, unknown>>> {
    const { connection } = await this.session();
    let resultSet: OracleResultSet<Record<string, unknown>> | undefined;
    try {
      const result = await connection.execute<Record<string, unknown>>(query.text, query.values, this.options({ resultSet: true, fetchArraySize: batchSize }));
      resultSet = result.resultSet;
    } catch (err) {
      throw this.toSourceError(err, 'query');
    }
    if (!resultSet) return;
    try {
      for (;;) {
        let rows: Array<Record<string, unknown>>;
        try {
          rows = await resultSet.getRows(batchSize);
        } catch (err) {
          throw this.toSourceError(err, 'read');
        }
        if (rows.length === 0) return;
        yield rows;
      }
    } finally {
      await resultSet.close().catch(() => undefined);
    }
  }

  /** A cheap proof that the login works, with what it is connected to. */
  async serverInfo(): Promise<CheckDetails> {
    const rows = await this.query({
      text:
        "SELECT SYS_CONTEXT('USERENV', 'SESSION_USER') AS SESSION_USER, SYS_CONTEXT('USERENV', 'DB_NAME') AS DB_NAME, " +
        "(SELECT COUNT(*) FROM ALL_TABLES WHERE OWNER = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AS OWN_TABLES FROM DUAL",
      values: [],
    });
    const row = rows[0] ?? {};
    return {
      serverVersion: this.connection?.oracleServerVersionString,
      database: row.DB_NAME,
      user: row.SESSION_USER,
      currentSchema: await this.currentSchema(),
      tablesInCurrentSchema: row.OWN_TABLES,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }
}

export const oracleClientFactory: SqlClientFactory<OracleConfig, OracleClient> = {
  source: SOURCE,
  host: (config) => config.host,
  open: (config, ctx) => new OracleClient(config, { signal: ctx.signal }),
};
