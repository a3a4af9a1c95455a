/**
 * What the service needs to know about a connector's config schema: which properties are secret
 * (`'x-secret': true`, at any depth), how to validate a whole config or one wizard step with
 * field paths, and how to split a config into its stored part and its sealed secrets.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TObject } from 'typebox';
import type { FieldProblem } from '../errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const SECRET_MASK = '********';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
addFormats(ajv);

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; 'x-secret'?: boolean; [k: string]: unknown };

/** dotted paths of every secret property, e.g. ["password", "tls.key"] */
export function secretPaths(schema: JsonSchema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (prop['x-secret']) out.push(path);
    else if (prop.properties) out.push(...secretPaths(prop, path));
  }
  return out;
}

export function getPath(obj: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

export function deletePath(obj: Record<string, unknown>, path: string): void {
  const keys = path.split('.');
  const parent = keys.length === 1 ? obj : (getPath(obj, keys.slice(0, -1).join('.')) as Record<string, unknown> | undefined);
  if (parent && typeof parent === 'object') delete parent[keys[keys.length - 1]!];
}

function problemsOf(errors: ErrorObject[] | null | undefined, root: string): FieldProblem[] {
  return (errors ?? []).map((e) => {
    const parts = [root, ...e.instancePath.split('/').filter(Boolean)];
    if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
    if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
    const message = e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not a known property' : (e.message ?? e.keyword);
    return { path: parts.join('.'), message };
  });
}

export class ConfigSchema {
  readonly secrets: string[];
  private readonly validateAll: ValidateFunction;
  private readonly stepValidators = new Map<string, ValidateFunction>();

  constructor(readonly schema: TObject) {
    this.secrets = secretPaths(schema as unknown as JsonSchema);
    this.validateAll = ajv.compile(structuredClone(schema));
  }

  /** validates (and fills defaults into) a complete config; returns problems with paths under `config.` */
  validate(config: Record<string, unknown>): FieldProblem[] {
    return this.validateAll(config) ? [] : problemsOf(this.validateAll.errors, 'config');
  }

  /** validates only the given top-level properties (one wizard step) */
  validateFields(config: Record<string, unknown>, fields: string[]): FieldProblem[] {
    const key = fields.join(',');
    let v = this.stepValidators.get(key);
    if (!v) {
      const s = this.schema as unknown as JsonSchema;
      const properties = Object.fromEntries(Object.entries(s.properties ?? {}).filter(([k]) => fields.includes(k)));
      v = ajv.compile({ type: 'object', properties: structuredClone(properties), required: (s.required ?? []).filter((r) => fields.includes(r)) });
      this.stepValidators.set(key, v);
    }
    return v(config) ? [] : problemsOf(v.errors, 'config');
  }

  /** the config as stored (secrets removed) and the secrets by path */
  split(config: Record<string, unknown>): { stored: Record<string, unknown>; secrets: Record<string, string> } {
    const stored = structuredClone(config);
    const secrets: Record<string, string> = {};
    for (const p of this.secrets) {
      const v = getPath(stored, p);
      if (v !== undefined && v !== null && v !== '') secrets[p] = typeof v === 'string' ? v : JSON.stringify(v);
      deletePath(stored, p);
    }
    return { stored, secrets };
  }

  /** a stored config with its secrets shown as a mask where one is set */
  mask(stored: Record<string, unknown>, setSecrets: string[]): Record<string, unknown> {
    const out = structuredClone(stored);
    for (const p of setSecrets) setPath(out, p, SECRET_MASK);
    return out;
  }

  /** a stored config with the revealed secrets put back, ready for a connector */
  merge(stored: Record<string, unknown>, secrets: Record<string, string>): Record<string, unknown> {
    const out = structuredClone(stored);
    for (const [p, v] of Object.entries(secrets)) setPath(out, p, v);
    return out;
  }
}
