/**
 * The part of node-oracledb's API this connector uses, typed here (the package ships no types).
 * Loaded lazily so importing the connector costs nothing until Oracle is used. Thin mode only:
 * nothing here calls `initOracleClient`.
 */
import { createRequire } from 'node:module';

export interface OracleDbType {
  name: string;
}

export interface OracleColumnMetadata {
  name: string;
  dbTypeName?: string;
  precision?: number;
  scale?: number;
}

export interface FetchTypeResult {
  type?: OracleDbType;
  converter?: (value: unknown) => unknown;
}

export interface ExecuteOptions {
  outFormat?: number;
  resultSet?: boolean;
  fetchArraySize?: number;
  prefetchRows?: number;
  maxRows?: number;
  fetchTypeHandler?: (metadata: OracleColumnMetadata) => FetchTypeResult | undefined;
}

export interface OracleResultSet<T> {
  getRows(count: number): Promise<T[]>;
  close(): Promise<void>;
}

export interface ExecuteResult<T> {
  rows?: T[];
  resultSet?: OracleResultSet<T>;
}

export interface OracleConnection {
  callTimeout: number;
  oracleServerVersionString?: string;
  execute<T = Record<string, unknown>>(sql: string, binds?: unknown[], options?: ExecuteOptions): Promise<ExecuteResult<T>>;
  break(): Promise<void>;
  close(): Promise<void>;
}

export interface OracleConnectOptions {
  user: string;
  password: string;
  connectString: string;
  /** seconds, whole connect including TLS */
  connectTimeout?: number;
  /** seconds, TCP connect only */
  transportConnectTimeout?: number;
  walletContent?: string;
  walletPassword?: string;
  sslServerDNMatch?: boolean;
  sslServerCertDN?: string;
  stmtCacheSize?: number;
  driverName?: string;
}

export interface OracleDb {
  readonly thin: boolean;
  readonly OUT_FORMAT_OBJECT: number;
  readonly STRING: OracleDbType;
  readonly BUFFER: OracleDbType;
  getConnection(options: OracleConnectOptions): Promise<OracleConnection>;
}

let loaded: OracleDb | undefined;

export function oracledb(): OracleDb {
  loaded ??= createRequire(import.meta.url)('oracledb') as OracleDb;
  return loaded;
}
