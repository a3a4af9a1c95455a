/**
 * How an identity connector's read() is organised, the same for every provider:
 *
 *  - passes: one provider listing may produce several streams at once (Graph's groups delta
 *    yields groups and memberships), so a connector declares passes, each serving some streams;
 *    every configured stream is read by the first pass that serves it, between `started` and
 *    `complete` statuses
 *  - targeted reads: a webhook-triggered run (`ctx.hints`) reads only the hinted keys through the
 *    connector's targeted reader for that stream; a hint without keys (or for a stream without a
 *    targeted reader) runs the stream's pass. A full-mode stream read completely in such a run
 *    ends with `scope_complete` over the whole stream, so what the provider no longer has is
 *    deleted as in a scheduled full sync (targeted runs infer no deletions otherwise)
 *  - rate-limit waits the Requester reported are yielded as they happen
 */
import type { RateLimitEvents } from './http/rate-limit-events.ts';
import { identityStream, type IdentityStream } from './identity.ts';
import { streamStatus, throwIfAborted } from './read-helpers.ts';
import { suggestSensitivity } from './sensitivity.ts';
import { SENSITIVITY_LEVELS, type CatalogField, type CatalogStream, type ConfiguredCatalog, type ConfiguredStream, type FieldType, type ReadContext, type ReadMessage } from './types.ts';

export interface IdentityPass {
  /** the streams this pass produces */
  streams: readonly string[];
  /** reads the given configured streams (those of `streams` the run wants) in one go */
  read(streams: ConfiguredStream[]): AsyncIterable<ReadMessage>;
}

/** reads the given keys of one stream (and, when it knows, deletes those that are gone) */
export type TargetedReader = (keys: Array<Record<string, unknown>>, stream: ConfiguredStream) => AsyncIterable<ReadMessage>;

export interface IdentityReadPlan {
  source: string;
  catalog: ConfiguredCatalog;
  ctx: Pick<ReadContext, 'hints' | 'signal'>;
  passes: IdentityPass[];
  targeted?: Partial<Record<string, TargetedReader>>;
  events?: RateLimitEvents;
}

export async function* readIdentityStreams(plan: IdentityReadPlan): AsyncGenerator<ReadMessage> {
  const configured = new Map(plan.catalog.streams.map((s) => [s.name, s]));
  const hints = plan.ctx.hints;
  const whole = new Set<string>();
  const keyed = new Map<string, Array<Record<string, unknown>>>();
  if (!hints) for (const name of configured.keys()) whole.add(name);
  else {
    for (const h of hints) {
      if (!configured.has(h.stream)) continue;
      if (h.keys.length === 0 || !plan.targeted?.[h.stream]) whole.add(h.stream);
      else keyed.set(h.stream, [...(keyed.get(h.stream) ?? []), ...h.keys]);
    }
    for (const name of whole) keyed.delete(name);
  }

  const drained = async function* (messages: AsyncIterable<ReadMessage>): AsyncGenerator<ReadMessage> {
    for await (const m of messages) {
      throwIfAborted(plan.ctx.signal, plan.source);
      if (plan.events) yield* plan.events.drain();
      yield m;
    }
    if (plan.events) yield* plan.events.drain();
  };

  for (const pass of plan.passes) {
    const served = pass.streams.filter((name) => whole.has(name)).map((name) => configured.get(name)!);
    if (served.length === 0) continue;
    for (const s of served) {
      whole.delete(s.name);
      yield streamStatus(s.name, 'started');
    }
    yield* drained(pass.read(served));
    for (const s of served) {
      if (hints && s.syncMode === 'full') yield { type: 'scope_complete', stream: s.name, scope: {} };
      yield streamStatus(s.name, 'complete');
    }
  }
  for (const [name, keys] of keyed) yield* drained(plan.targeted![name]!(keys, configured.get(name)!));
}

/** the distinct string values of one key field among hint keys */
export function hintValues(keys: Array<Record<string, unknown>>, field: string): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    const v = k[field];
    if (typeof v === 'string' && v !== '') out.add(v);
    else if (typeof v === 'number') out.add(String(v));
  }
  return [...out];
}

/** the selected source fields of a configured stream (empty: all) as a set for lookups */
export function selectedFields(stream: ConfiguredStream | undefined): (name: string) => boolean {
  if (!stream || stream.fields.length === 0) return () => true;
  const set = new Set(stream.fields);
  return (name) => set.has(name);
}

/**
 * A normalized identity record with provider attributes: every selected extra field both at the
 * top level (so the mapping can pick and classify it like any field) and under `attributes`
 * (what the data plane merges into users and groups). Null and undefined values are left out.
 */
export function withAttributes(base: Record<string, unknown>, extras: Record<string, unknown>, isSelected: (name: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && v !== null) out[k] = v;
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extras)) {
    if (v === undefined || v === null || !isSelected(k) || k in out) continue;
    attributes[k] = v;
    out[k] = v;
  }
  if (isSelected('attributes')) out.attributes = attributes;
  return out;
}

/** a provider attribute as a catalog field, its sensitivity suggested from its name */
export function attributeField(name: string, type: FieldType, sourceType: string, description?: string): CatalogField {
  return { name, type, sourceType, nullable: true, suggestedSensitivity: suggestSensitivity(name, type), ...(description ? { description } : {}) };
}

/**
 * identityStream() with provider attributes, where `attributes` (which carries all of them) is
 * suggested as sensitive as the most sensitive attribute it holds.
 */
export function identityStreamWithAttributes(name: IdentityStream, opts: Parameters<typeof identityStream>[1] = {}): CatalogStream {
  const stream = identityStream(name, opts);
  const extras = opts.extraFields ?? [];
  const rank = (s: CatalogField['suggestedSensitivity']) => SENSITIVITY_LEVELS.indexOf(s);
  const attributes = stream.fields.find((f) => f.name === 'attributes');
  if (attributes) for (const f of extras) if (rank(f.suggestedSensitivity) > rank(attributes.suggestedSensitivity)) attributes.suggestedSensitivity = f.suggestedSensitivity;
  return stream;
}

/**
 * Re-reads one subset of a stream completely (a group's members, a user's roles): its records,
 * then `scope_complete`, so stored records of the subset that were not read again are deleted.
 * When the provider no longer has the subset's owner (`isGone`), the subset ends empty.
 */
export async function* readScope(stream: string, scope: Record<string, string>, read: () => AsyncIterable<ReadMessage>, isGone: (err: unknown) => boolean): AsyncGenerator<ReadMessage> {
  try {
    yield* read();
  } catch (err) {
    if (!isGone(err)) throw err;
  }
  yield { type: 'scope_complete', stream, scope };
}

/** reads objects one id at a time: their records, or a delete for each id the provider no longer has */
export async function* readEachById<T>(stream: string, ids: string[], fetch: (id: string) => Promise<T | undefined>, toMessages: (obj: T) => Iterable<ReadMessage>): AsyncGenerator<ReadMessage> {
  for (const id of ids) {
    const obj = await fetch(id);
    if (obj === undefined) yield { type: 'delete', stream, key: { id } };
    else yield* toMessages(obj);
  }
}
