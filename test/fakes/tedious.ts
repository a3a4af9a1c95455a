/**
 * Stand-ins for what tedious hands the SQL Server connector, built from tedious's documented
 * shapes: rows are arrays of `{ value, metadata: { colName, type: { name }, … } }` (useColumnNames
 * false), a Request emits 'row' events, honours pause()/resume(), and its callback ends it
 * (with RequestError 'ECANCEL' after Connection.cancel()).
 */
import { EventEmitter } from 'node:events';
import { RequestError, type Request } from 'tedious';
import type { TediousColumn, TediousColumnMetadata } from '../../connectors/sqlserver/keyset-values.ts';

export type ColumnSpec = [value: unknown, typeName: string, extra?: Partial<TediousColumnMetadata>];

/** One row as tedious emits it, from `{ column: [value, 'NVarChar'] }`. */
export function tediousRow(columns: Record<string, ColumnSpec>): TediousColumn[] {
  return Object.entries(columns).map(([colName, [value, typeName, extra]]) => ({
    value,
    metadata: { colName, type: { name: typeName }, ...extra },
  }));
}

interface InternalRequest extends Request {
  callback(err: Error | null | undefined, rowCount?: number): void;
}

/** A connection whose every request streams the given rows, respecting pause / resume. */
export class FakeTediousConnection extends EventEmitter {
  closed = false;
  readonly requests: Request[] = [];
  cancelled = 0;
  /** most rows emitted between two pauses (proves back-pressure) */
  maxRunWithoutPause = 0;
  private current: InternalRequest | undefined;

  constructor(private readonly rows: TediousColumn[][]) {
    super();
  }

  execSql(request: Request): void {
    this.requests.push(request);
    this.current = request as InternalRequest;
    let index = 0;
    let run = 0;
    const pump = () => {
      const req = this.current;
      if (!req || req !== request) return;
      while (index < this.rows.length && !request.paused) {
        request.emit('row', this.rows[index++]);
        run += 1;
        this.maxRunWithoutPause = Math.max(this.maxRunWithoutPause, run);
      }
      if (index >= this.rows.length) {
        this.current = undefined;
        req.callback(undefined, index);
        return;
      }
      run = 0;
      request.once('resume', () => setImmediate(pump));
    };
    setImmediate(pump);
  }

  cancel(): boolean {
    const req = this.current;
    if (!req) return false;
    this.cancelled += 1;
    this.current = undefined;
    setImmediate(() => req.callback(new RequestError('Canceled.', 'ECANCEL')));
    return true;
  }

  close(): void {
    this.closed = true;
    setImmediate(() => this.emit('end'));
  }
}
