/**
 * One verb's worth of directory access: the bound client for paged scans, the root DSE and the
 * vendor strategy it implies, a second bound connection opened on first need for lookups made
 * between pages (DN resolution, range retrieval — a paged search keeps server-side state per
 * connection, so nothing else runs on that one), and the subschema, read once when needed.
 */
import { SourceError } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { LdapClient } from './client.ts';
import { DirectorySchema } from './schema.ts';
import type { LdapConfig } from './spec.ts';
import { parseRootDse, ROOT_DSE_ATTRIBUTES, SOURCE, vendorFor, type LdapVendor, type RootDse } from './vendors.ts';

export class LdapSession {
  private lookupClient?: Promise<LdapClient>;
  private schemaPromise?: Promise<DirectorySchema>;

  private constructor(
    readonly config: LdapConfig,
    private readonly ctx: ConnectorContext,
    readonly client: LdapClient,
    readonly dse: RootDse,
    readonly vendor: LdapVendor,
  ) {}

  static async open(config: LdapConfig, ctx: ConnectorContext): Promise<LdapSession> {
    const client = await LdapClient.open(config, ctx);
    try {
      const dse = parseRootDse(await client.read('', ROOT_DSE_ATTRIBUTES));
      return new LdapSession(config, ctx, client, dse, vendorFor(config.vendor, dse));
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  get userFilter(): string {
    return this.config.userFilter ?? this.vendor.defaultUserFilter;
  }

  get groupFilter(): string {
    return this.config.groupFilter ?? this.vendor.defaultGroupFilter;
  }

  get userObjectClasses(): string[] {
    return this.config.userObjectClasses.length > 0 ? this.config.userObjectClasses : this.vendor.defaultUserObjectClasses;
  }

  get groupObjectClasses(): string[] {
    return this.config.groupObjectClasses.length > 0 ? this.config.groupObjectClasses : this.vendor.defaultGroupObjectClasses;
  }

  /** the connection for lookups between pages */
  lookup(): Promise<LdapClient> {
    this.lookupClient ??= LdapClient.open(this.config, this.ctx);
    return this.lookupClient;
  }

  schema(): Promise<DirectorySchema> {
    this.schemaPromise ??= this.readSchema();
    return this.schemaPromise;
  }

  private async readSchema(): Promise<DirectorySchema> {
    const base = this.dse.subschemaSubentry;
    if (!base) throw new SourceError(SOURCE, 'the root DSE names no subschemaSubentry: the server does not publish its schema', { kind: 'protocol' });
    const client = await this.lookup();
    const [entry] = await client.search({ base, scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes', 'objectClasses'] }, 'read schema');
    if (!entry) throw new SourceError(SOURCE, `the subschema entry ${base} could not be read`, { kind: 'permission' });
    const texts = (name: string) => (entry.attributes.get(name.toLowerCase()) ?? []).map(String);
    return new DirectorySchema(texts('attributeTypes'), texts('objectClasses'));
  }

  async close(): Promise<void> {
    const lookup = this.lookupClient;
    await Promise.all([this.client.close(), lookup?.then((c) => c.close(), () => undefined)]);
  }
}
