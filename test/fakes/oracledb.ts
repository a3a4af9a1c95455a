/**
 * Oracle stand-ins for tests, built on node-oracledb's own pieces where it has them:
 *   - errors come from oracledb's errors module (`getErr` for NJS-, `transformErr` for ORA-
 *     errors as Thin mode raises them), so code, errorNum and message text are the driver's
 *   - FakeOracleDb / FakeOracleConnection follow the documented API the connector uses
 *     (getConnection, execute with positional binds, OUT_FORMAT_OBJECT rows, result sets with
 *     getRows / close, fetchTypeHandler called with column metadata) and record every call.
 */
import { createRequire } from 'node:module';
import type {
  ExecuteOptions,
  ExecuteResult,
  OracleColumnMetadata,
  OracleConnectOptions,
  OracleConnection,
  OracleDb,
  OracleResultSet,
} from '../../connectors/oracle/driver.ts';

const require = createRequire(import.meta.url);

interface OracleErrorsModule {
  getErr(errorNum: number, ...args: unknown[]): Error & { code: string };
  transformErr(err: Error): Error;
  [name: string]: unknown;
}

const errors = require('oracledb/lib/errors.js') as OracleErrorsModule;
const realDb = require('oracledb') as OracleDb;

/** An NJS- error exactly as the driver builds it, e.g. driverError('ERR_INVALID_SERVICE_NAME', 'X', 'h', 1521, 'id'). */
export function driverError(name: string, ...args: unknown[]): Error & { code: string } {
  const num = errors[name];
  if (typeof num !== 'number') throw new Error(`oracledb has no error ${name}`);
  return errors.getErr(num, ...args);
}

/** A database error as Thin mode raises it: `ORA-nnnnn: text`, errorNum, code, help URL. */
export function oracleServerError(errorNum: number, text: string): Error & { code?: string; errorNum: number } {
  const err = Object.assign(new Error(`ORA-${String(errorNum).padStart(5, '0')}: ${text}`), { errorNum, offset: 0 });
  return errors.transformErr(err) as Error & { code?: string; errorNum: number };
}

export interface ExecutedStatement {
  sql: string;
  binds: unknown[];
  options: ExecuteOptions | undefined;
}

type Responder = (sql: string, binds: unknown[]) => Array<Record<string, unknown>> | Error;

export class FakeOracleConnection implements OracleConnection {
  callTimeout = 0;
  oracleServerVersionString = '23.4.0.24.5';
  readonly executed: ExecutedStatement[] = [];
  closed = false;
  resultSetsClosed = 0;

  constructor(
    private readonly respond: Responder,
    private readonly columns: OracleColumnMetadata[] = [],
  ) {}

  async execute<T = Record<string, unknown>>(sql: string, binds: unknown[] = [], options?: ExecuteOptions): Promise<ExecuteResult<T>> {
    this.executed.push({ sql, binds, options });
    const answer = this.respond(sql, binds);
    if (answer instanceof Error) throw answer;
    // the driver asks the handler about every column before fetching
    for (const meta of this.columns) options?.fetchTypeHandler?.(meta);
    const rows = answer as T[];
    if (!options?.resultSet) return { rows };
    let position = 0;
    const resultSet: OracleResultSet<T> = {
      getRows: async (count: number) => {
        const page = rows.slice(position, position + count);
        position += page.length;
        return page;
      },
      close: async () => {
        this.resultSetsClosed += 1;
      },
    };
    return { resultSet };
  }

  async break(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** oracledb with getConnection answered by the given connection (constants are the real ones). */
export function fakeOracleDb(connection: FakeOracleConnection): OracleDb & { connectOptions: OracleConnectOptions[] } {
  const connectOptions: OracleConnectOptions[] = [];
  return {
    thin: true,
    OUT_FORMAT_OBJECT: realDb.OUT_FORMAT_OBJECT,
    STRING: realDb.STRING,
    BUFFER: realDb.BUFFER,
    connectOptions,
    async getConnection(options: OracleConnectOptions) {
      connectOptions.push(options);
      return connection;
    },
  };
}

export { realDb as oracledbModule };
