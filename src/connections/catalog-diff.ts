/** What changed between two discoveries: streams and fields added, removed or changed. */
import type { Catalog, CatalogField, CatalogStream } from '../../connectors/sdk/types.ts';

export interface FieldChange {
  name: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface StreamDiff {
  stream: string;
  added_fields: string[];
  removed_fields: string[];
  changed_fields: FieldChange[];
  primary_key?: { from: string[]; to: string[] };
  /** for streams with `entries` (document descriptions such as OpenAPI endpoints) */
  added_entries?: string[];
  removed_entries?: string[];
  changed_entries?: string[];
}

export interface CatalogDiff {
  /** false for the first discovery */
  has_previous: boolean;
  added_streams: string[];
  removed_streams: string[];
  changed_streams: StreamDiff[];
}

export const streamKey = (s: Pick<CatalogStream, 'name' | 'namespace'>) => (s.namespace ? `${s.namespace}.${s.name}` : s.name);

const COMPARED: Array<keyof CatalogField> = ['type', 'sourceType', 'nullable'];

/** entries added, removed, or whose fingerprint changed; true when there is any */
function diffEntries(prev: Record<string, string> | undefined, next: Record<string, string> | undefined, d: StreamDiff): boolean {
  if (!prev && !next) return false;
  const before = prev ?? {};
  const after = next ?? {};
  d.added_entries = Object.keys(after).filter((k) => !(k in before));
  d.removed_entries = Object.keys(before).filter((k) => !(k in after));
  d.changed_entries = Object.keys(after).filter((k) => k in before && before[k] !== after[k]);
  return d.added_entries.length + d.removed_entries.length + d.changed_entries.length > 0;
}

function diffStream(prev: CatalogStream, next: CatalogStream): StreamDiff | undefined {
  const before = new Map(prev.fields.map((f) => [f.name, f]));
  const after = new Map(next.fields.map((f) => [f.name, f]));
  const d: StreamDiff = {
    stream: streamKey(next),
    added_fields: [...after.keys()].filter((n) => !before.has(n)),
    removed_fields: [...before.keys()].filter((n) => !after.has(n)),
    changed_fields: [],
  };
  for (const [name, f] of after) {
    const old = before.get(name);
    if (!old) continue;
    const changes: FieldChange['changes'] = {};
    for (const k of COMPARED) if (old[k] !== f[k]) changes[k] = { from: old[k], to: f[k] };
    if (Object.keys(changes).length) d.changed_fields.push({ name, changes });
  }
  if (prev.primaryKey.join(',') !== next.primaryKey.join(',')) d.primary_key = { from: prev.primaryKey, to: next.primaryKey };
  const entriesChanged = diffEntries(prev.entries, next.entries, d);
  const changed = d.added_fields.length || d.removed_fields.length || d.changed_fields.length || d.primary_key || entriesChanged;
  return changed ? d : undefined;
}

export function diffCatalogs(prev: Catalog | undefined, next: Catalog): CatalogDiff {
  if (!prev) return { has_previous: false, added_streams: next.streams.map(streamKey), removed_streams: [], changed_streams: [] };
  const before = new Map(prev.streams.map((s) => [streamKey(s), s]));
  const after = new Map(next.streams.map((s) => [streamKey(s), s]));
  const changed: StreamDiff[] = [];
  for (const [k, s] of after) {
    const old = before.get(k);
    const d = old && diffStream(old, s);
    if (d) changed.push(d);
  }
  return {
    has_previous: true,
    added_streams: [...after.keys()].filter((k) => !before.has(k)),
    removed_streams: [...before.keys()].filter((k) => !after.has(k)),
    changed_streams: changed,
  };
}
