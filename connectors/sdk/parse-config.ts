/**
 * Checks a connector config against its TypeBox schema and fills defaults, so a connector can
 * rely on every defaulted field being present. Failures are SourceError(kind 'config') naming
 * the offending property — never its value, which may be a secret.
 */
import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';
import { SourceError } from './errors.ts';

export function parseConnectorConfig<T extends TObject>(schema: T, raw: unknown, source: string): Static<T> {
  const withDefaults = Value.Default(schema, Value.Clone(raw ?? {})) as unknown;
  if (Value.Check(schema, withDefaults)) return withDefaults as Static<T>;
  const problems = [...Value.Errors(schema, withDefaults)]
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message}`);
  throw new SourceError(source, `invalid configuration: ${problems.join('; ')}`, { kind: 'config' });
}
