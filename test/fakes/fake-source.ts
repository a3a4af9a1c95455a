/**
 * An in-memory source behind the real connector contract, for testing the service (connections,
 * sync engine, data plane) without a provider. Tests change its tables between runs, make it
 * fail, or slow it down. Streams are tables of rows keyed by `id`; `updated_at` is the cursor.
 */
import { Type, type Static } from 'typebox';
import { SourceError } from '../../connectors/sdk/errors.ts';
import { defineConnector, type Catalog, type CatalogField, type ConnectorDefinition, type ReadMessage } from '../../connectors/sdk/types.ts';

export const FakeSourceConfig = Type.Object({
  host: Type.String({ minLength: 1, title: 'Host' }),
  dataset: Type.String({ minLength: 1, title: 'Dataset name', default: 'main' }),
  token: Type.String({ minLength: 1, 'x-secret': true, title: 'Token' }),
  options: Type.Optional(Type.Object({ region: Type.Optional(Type.String()), signingKey: Type.Optional(Type.String({ 'x-secret': true })) })),
});
export type FakeSourceConfig = Static<typeof FakeSourceConfig>;

export type Row = Record<string, unknown> & { id: string | number };

export interface FakeSource {
  definition: ConnectorDefinition<FakeSourceConfig>;
  tables: Map<string, Row[]>;
  /** the next read fails after emitting this many records (then the flag clears) */
  failAfter?: { records: number; kind: SourceError['kind'] };
  /** the next reads re-read every stream whole and say so (scope_complete with an empty scope), as a delta source does after its token expired */
  resync?: boolean;
  /** per-record delay in ms (to let tests interrupt a sync) */
  delayMs: number;
  calls: { check: number; discover: number; read: number };
  /** configs each verb received (to prove secrets were merged back) */
  seenTokens: string[];
}

const typeOf = (v: unknown): CatalogField['type'] =>
  typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v === 'boolean' ? 'boolean' : typeof v === 'object' && v !== null ? 'object' : /^\d{4}-\d\d-\d\dT/.test(String(v)) ? 'datetime' : 'string';

export function createFakeSource(type = 'fake'): FakeSource {
  const source: FakeSource = {
    tables: new Map(),
    delayMs: 0,
    calls: { check: 0, discover: 0, read: 0 },
    seenTokens: [],
    definition: undefined as unknown as ConnectorDefinition<FakeSourceConfig>,
  };
  const authorize = (config: FakeSourceConfig) => {
    source.seenTokens.push(config.token);
    if (config.token === 'bad') throw new SourceError(type, 'the token was rejected (401)', { kind: 'auth' });
  };
  source.definition = defineConnector<FakeSourceConfig>({
    type,
    displayName: 'Fake source (tests)',
    category: 'database',
    description: 'In-memory tables for tests.',
    spec: {
      config: FakeSourceConfig,
      authKinds: ['api_token'],
      steps: [
        { id: 'connection', title: 'Connection', fields: ['host', 'dataset'] },
        { id: 'authentication', title: 'Authentication', fields: ['token', 'options'] },
      ],
      capabilities: { discovery: true, incremental: 'cursor', webhooks: false, targetedRead: true },
    },
    templates: [{ id: 'local', name: 'Local fake', description: 'points at localhost', config: { host: 'localhost', dataset: 'main' } }],
    targets: (c) => [c.host],
    async check(config) {
      source.calls.check++;
      authorize(config);
      return { tables: source.tables.size };
    },
    async discover(config): Promise<Catalog> {
      source.calls.discover++;
      authorize(config);
      return {
        streams: [...source.tables.entries()].map(([name, rows]) => {
          const names = new Map<string, unknown>();
          for (const r of rows.slice(0, 100)) for (const [k, v] of Object.entries(r)) if (!names.has(k) || names.get(k) === null) names.set(k, v);
          const fields = [...names.entries()].map(([k, v]) => ({
            name: k,
            type: typeOf(v),
            sourceType: typeof v,
            nullable: k !== 'id',
            suggestedSensitivity: /email/.test(k) ? ('confidential' as const) : /ssn|password|salary/.test(k) ? ('restricted' as const) : ('internal' as const),
          }));
          const hasCursor = names.has('updated_at');
          return { name, kind: 'table' as const, fields, primaryKey: ['id'], cursorCandidates: hasCursor ? ['updated_at'] : [], relations: [], supportedSyncModes: hasCursor ? (['full', 'incremental'] as const).slice() : ['full' as const] };
        }),
      };
    },
    async *read(config, catalog, ctx): AsyncIterable<ReadMessage> {
      source.calls.read++;
      authorize(config);
      let emitted = 0;
      for (const s of catalog.streams) {
        const rows = source.tables.get(s.name);
        if (!rows) throw new SourceError(type, `table ${s.name} does not exist`, { kind: 'config' });
        yield { type: 'stream_status', stream: s.name, status: 'started' };
        const since = s.syncMode === 'incremental' ? (ctx.state[s.name]?.cursor as string | undefined) : undefined;
        const hint = ctx.hints?.find((h) => h.stream === s.name);
        let selected = [...rows];
        if (hint) selected = selected.filter((r) => hint.keys.some((k) => String(k.id) === String(r.id)));
        else if (since !== undefined && s.cursorField && !source.resync) selected = selected.filter((r) => String(r[s.cursorField!]) > since);
        if (s.cursorField) selected.sort((a, b) => String(a[s.cursorField!]).localeCompare(String(b[s.cursorField!])));
        let max = since;
        for (const r of selected) {
          if (ctx.signal.aborted) throw new SourceError(type, 'read cancelled', { kind: 'cancelled' });
          if (source.failAfter && emitted >= source.failAfter.records) {
            const kind = source.failAfter.kind;
            source.failAfter = undefined;
            throw new SourceError(type, 'the source failed in the middle of a read', { kind });
          }
          if (source.delayMs) await new Promise((res) => setTimeout(res, source.delayMs));
          const data = s.fields.length ? Object.fromEntries(s.fields.map((f) => [f, r[f] ?? null])) : { ...r };
          yield { type: 'record', stream: s.name, data };
          emitted++;
          if (s.cursorField) max = String(r[s.cursorField]);
        }
        if (source.resync && !hint) yield { type: 'scope_complete', stream: s.name, scope: {} };
        if (s.cursorField && !hint) yield { type: 'state', stream: s.name, state: { cursor: max } };
        yield { type: 'stream_status', stream: s.name, status: 'complete' };
      }
    },
  });
  return source;
}
