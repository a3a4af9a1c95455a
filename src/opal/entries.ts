/**
 * OPAL DataSourceEntries for a tenant's document: one per dst_path, non-overlapping, never the
 * tenant root: users, groups, each source (or each of its streams when the source is large),
 * meta. Every entry carries the tenant topic `policy_data/<tenant>` and the tenant's data token
 * in `config.headers` (OPAL's HTTP fetcher sends them).
 */
import { IDENTITY_STREAMS } from '../../connectors/sdk/identity.ts';
import type { DocumentIndex } from './document.builder.ts';

export interface DataSourceEntry {
  url: string;
  config?: { headers: Record<string, string> };
  topics: string[];
  dst_path: string;
  save_method?: 'PUT';
}

export const tenantTopic = (tenantId: string) => `policy_data/${tenantId}`;

/** every part path of the document that OPAL fetches, in publishing order */
export function allPaths(index: DocumentIndex): string[] {
  const paths = ['users', 'groups'];
  for (const s of index.sources) {
    if (s.split) for (const stream of s.streams) paths.push(`sources/${s.key}/${stream}`);
    else paths.push(`sources/${s.key}`);
  }
  paths.push('meta');
  return paths;
}

/** the paths a change touches: connection id → changed target streams ('all': every stream) */
export function changedPaths(index: DocumentIndex, changes: Map<string, Set<string> | 'all'>): string[] {
  const paths = new Set<string>();
  let identity = false;
  for (const [connectionId, streams] of changes) {
    const s = index.sources.find((x) => x.connectionId === connectionId);
    if (!s) continue;
    const changed = streams === 'all' ? s.streams : s.streams.filter((t) => streams.has(t));
    if (s.identity && changed.some((t) => (IDENTITY_STREAMS as readonly string[]).includes(s.sourceStreams[t] ?? ''))) identity = true;
    if (s.split) for (const t of changed) paths.add(`sources/${s.key}/${t}`);
    else if (changed.length || streams === 'all') paths.add(`sources/${s.key}`);
  }
  const ordered = identity ? ['users', 'groups'] : [];
  ordered.push(...[...paths].sort());
  ordered.push('meta');
  return ordered;
}

/** paths that belong to one connection (its source entries, plus users/groups for identity) */
export function connectionPaths(index: DocumentIndex, connectionId: string): string[] {
  return changedPaths(index, new Map([[connectionId, 'all']]));
}

export interface EntryOptions {
  publicUrl: string;
  dstPrefix: string;
  tenantId: string;
  /** the data token for config.headers; omitted in what is stored */
  token?: string;
  /** tenant revision the entry was published for (`?rev=`): the server reads its version afresh below it */
  revision?: number;
}

export function toEntry(path: string, o: EntryOptions): DataSourceEntry {
  const segments = path.split('/').map(encodeURIComponent).join('/');
  const entry: DataSourceEntry = {
    url: `${o.publicUrl}/opal/pip-data/${encodeURIComponent(o.tenantId)}/${segments}${o.revision !== undefined ? `?rev=${o.revision}` : ''}`,
    topics: [tenantTopic(o.tenantId)],
    dst_path: `/${o.dstPrefix}/${o.tenantId}/${path}`,
  };
  if (o.token) entry.config = { headers: { Authorization: `Bearer ${o.token}` } };
  return entry;
}
