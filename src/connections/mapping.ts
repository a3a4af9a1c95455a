/**
 * The mapping an admin makes from a discovered catalog: which streams and fields to sync, under
 * which target names, with which sensitivity, in which sync mode. Validated against the catalog
 * so a sync never asks a source for something that does not exist.
 */
import type { Catalog, ConfiguredCatalog, Sensitivity, SyncMode } from '../../connectors/sdk/types.ts';
import { validationError, type FieldProblem } from '../errors.ts';
import { streamKey } from './catalog-diff.ts';

export interface FieldMapping {
  /** source field name */
  name: string;
  /** name in the published record */
  target: string;
  sensitivity: Sensitivity;
  /** restricted fields are published only when this is true */
  publish: boolean;
}

export interface StreamMapping {
  name: string;
  namespace?: string;
  /** name under sources.<connection>.<target_name> in the OPA document */
  target_name: string;
  sync_mode: SyncMode;
  cursor_field?: string;
  primary_key: string[];
  fields: FieldMapping[];
}

export interface StreamMappingInput {
  name: string;
  namespace?: string;
  target_name?: string;
  sync_mode?: SyncMode;
  cursor_field?: string;
  primary_key?: string[];
  /** omitted: every field of the stream with its suggested sensitivity */
  fields?: Array<{ name: string; target?: string; sensitivity?: Sensitivity; publish?: boolean }>;
}

const TARGET_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

function safeTarget(name: string): string {
  const t = name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^([^A-Za-z_])/, '_$1');
  return t.slice(0, 128) || '_';
}

export function resolveMapping(catalog: Catalog, input: StreamMappingInput[]): StreamMapping[] {
  const problems: FieldProblem[] = [];
  const byKey = new Map(catalog.streams.map((s) => [streamKey(s), s]));
  const targets = new Set<string>();
  const out: StreamMapping[] = [];
  input.forEach((si, i) => {
    const at = `body.streams.${i}`;
    const stream = byKey.get(streamKey(si)) ?? (si.namespace ? undefined : catalog.streams.find((s) => s.name === si.name));
    if (!stream) {
      problems.push({ path: `${at}.name`, message: `stream ${streamKey(si)} is not in the discovered catalog (run discover again if it is new)` });
      return;
    }
    const fieldsByName = new Map(stream.fields.map((f) => [f.name, f]));
    const target = si.target_name ?? safeTarget(stream.name);
    if (!TARGET_RE.test(target)) problems.push({ path: `${at}.target_name`, message: 'must start with a letter or _ and hold only letters, digits, _ and -' });
    if (targets.has(target)) problems.push({ path: `${at}.target_name`, message: `target name ${target} is used by another stream` });
    targets.add(target);

    const primaryKey = si.primary_key ?? stream.primaryKey;
    if (primaryKey.length === 0) problems.push({ path: `${at}.primary_key`, message: `stream ${stream.name} has no primary key: name the field(s) that identify a record` });
    for (const k of primaryKey) if (!fieldsByName.has(k)) problems.push({ path: `${at}.primary_key`, message: `field ${k} is not in stream ${stream.name}` });

    const syncMode = si.sync_mode ?? 'full';
    if (!stream.supportedSyncModes.includes(syncMode)) problems.push({ path: `${at}.sync_mode`, message: `stream ${stream.name} supports ${stream.supportedSyncModes.join(', ')}` });
    const cursor = si.cursor_field ?? (syncMode === 'incremental' ? stream.cursorCandidates[0] : undefined);
    // a stream that is incremental without cursor candidates keeps a provider delta token instead
    const deltaStream = stream.supportedSyncModes.includes('incremental') && stream.cursorCandidates.length === 0;
    if (syncMode === 'incremental' && !deltaStream) {
      if (!cursor) problems.push({ path: `${at}.cursor_field`, message: 'incremental sync needs a cursor field' });
      else if (!fieldsByName.has(cursor)) problems.push({ path: `${at}.cursor_field`, message: `field ${cursor} is not in stream ${stream.name}` });
    }

    const fieldInputs: NonNullable<StreamMappingInput['fields']> = si.fields ?? stream.fields.map((f) => ({ name: f.name }));
    const fieldTargets = new Set<string>();
    const fields: FieldMapping[] = [];
    fieldInputs.forEach((fi, j) => {
      const f = fieldsByName.get(fi.name);
      if (!f) {
        problems.push({ path: `${at}.fields.${j}.name`, message: `field ${fi.name} is not in stream ${stream.name}` });
        return;
      }
      const ft = fi.target ?? f.name;
      if (fieldTargets.has(ft)) problems.push({ path: `${at}.fields.${j}.target`, message: `target ${ft} is used twice in stream ${stream.name}` });
      fieldTargets.add(ft);
      const sensitivity = fi.sensitivity ?? f.suggestedSensitivity;
      fields.push({ name: f.name, target: ft, sensitivity, publish: fi.publish ?? sensitivity !== 'restricted' });
    });
    const selected = new Set(fields.map((f) => f.name));
    for (const k of primaryKey) if (fieldsByName.has(k) && !selected.has(k)) problems.push({ path: `${at}.fields`, message: `primary key field ${k} must be selected` });

    out.push({ name: stream.name, namespace: stream.namespace, target_name: target, sync_mode: syncMode, cursor_field: syncMode === 'incremental' ? cursor : undefined, primary_key: primaryKey, fields });
  });
  if (problems.length) throw validationError(problems, 'mapping');
  return out;
}

/** what the connector's read() gets: the source names of the mapped streams and fields */
export function toConfiguredCatalog(streams: StreamMapping[]): ConfiguredCatalog {
  return {
    streams: streams.map((s) => ({
      name: s.name,
      namespace: s.namespace,
      fields: s.fields.map((f) => f.name),
      primaryKey: s.primary_key,
      syncMode: s.sync_mode,
      cursorField: s.cursor_field,
    })),
  };
}
