/**
 * The connector registry: every folder under connectors/ with an index.ts registers itself
 * (its default export is a ConnectorDefinition). A folder without index.ts is work in progress
 * and is not listed. Definitions are checked when loaded, so a broken connector stops the start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConnectorDefinition } from '../../connectors/sdk/types.ts';
import { ConfigSchema } from './config-schema.ts';

export interface RegisteredConnector {
  definition: ConnectorDefinition<any>;
  config: ConfigSchema;
}

export class ConnectorRegistry {
  private readonly byType = new Map<string, RegisteredConnector>();

  constructor(definitions: ConnectorDefinition<any>[]) {
    for (const def of definitions) {
      if (!/^[a-z][a-z0-9_]*$/.test(def.type)) throw new Error(`connector type "${def.type}" must be lowercase snake_case`);
      if (this.byType.has(def.type)) throw new Error(`connector type ${def.type} is registered twice`);
      const props = Object.keys((def.spec.config as { properties?: object }).properties ?? {});
      for (const step of def.spec.steps) {
        for (const f of step.fields) if (!props.includes(f)) throw new Error(`connector ${def.type}: wizard step ${step.id} names unknown field ${f}`);
      }
      this.byType.set(def.type, { definition: def, config: new ConfigSchema(def.spec.config) });
    }
  }

  list(): RegisteredConnector[] {
    return [...this.byType.values()].sort((a, b) => a.definition.category.localeCompare(b.definition.category) || a.definition.type.localeCompare(b.definition.type));
  }

  get(type: string): RegisteredConnector | undefined {
    return this.byType.get(type);
  }
}

const CONNECTORS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../connectors');

export async function loadConnectorRegistry(dir = CONNECTORS_DIR): Promise<ConnectorRegistry> {
  const defs: ConnectorDefinition<any>[] = [];
  const folders = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'sdk').map((d) => d.name).sort();
  for (const folder of folders) {
    const index = path.join(dir, folder, 'index.ts');
    if (!fs.existsSync(index)) continue;
    const mod = (await import(pathToFileURL(index).href)) as { default?: ConnectorDefinition<any> };
    if (!mod.default?.type) throw new Error(`connectors/${folder}/index.ts has no default ConnectorDefinition export`);
    defs.push(mod.default);
  }
  return new ConnectorRegistry(defs);
}
