/** The LDAP / Active Directory connector: the registry entry wiring spec, check, discover and read. */
import { FilterParser } from 'ldapts';
import { isSourceError, SourceError } from '../sdk/errors.ts';
import { parseConnectorConfig } from '../sdk/parse-config.ts';
import { abortable, cancelledError, throwIfAborted, withTimeout } from '../sdk/read-helpers.ts';
import { defineConnector, type ConnectorContext } from '../sdk/types.ts';
import { checkLdap } from './check.ts';
import { parseLdapUrl, toLdapSourceError } from './client.ts';
import { discoverLdap } from './discover.ts';
import { readLdap } from './read.ts';
import { LdapSession } from './session.ts';
import { LdapConfig, ldapSpec, ldapTemplates } from './spec.ts';
import { SOURCE } from './vendors.ts';

/** Parentheses balance (values in filters escape them as \28 / \29, so every one is structural). */
function balanced(filter: string): boolean {
  let depth = 0;
  for (const c of filter) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

export function parseLdapConfig(raw: unknown): LdapConfig {
  const config = parseConnectorConfig(LdapConfig, raw, SOURCE);
  for (const url of config.urls) parseLdapUrl(url);
  for (const key of ['userFilter', 'groupFilter'] as const) {
    const filter = config[key];
    if (filter === undefined) continue;
    try {
      const wrapped = filter.trim().startsWith('(') ? filter.trim() : `(${filter.trim()})`;
      if (!balanced(wrapped)) throw new Error('unbalanced parentheses');
      FilterParser.parseString(wrapped);
    } catch (err) {
      throw new SourceError(SOURCE, `${key} is not a valid LDAP filter: ${(err as Error).message}`, { kind: 'config' });
    }
  }
  return config;
}

function mapError(err: unknown, config: LdapConfig, action: string): SourceError {
  if (isSourceError(err)) return err;
  return toLdapSourceError(err, { target: config.urls.join(', '), secrets: [config.bindPassword], action });
}

/** Guard → connect and bind → `work` within ctx.timeoutMs (or until ctx.signal aborts) → unbind. */
async function withSession<T>(config: LdapConfig, ctx: ConnectorContext, action: string, work: (session: LdapSession) => Promise<T>): Promise<T> {
  throwIfAborted(ctx.signal, SOURCE);
  const opening = LdapSession.open(config, ctx);
  let finished = false;
  let session: LdapSession | undefined;
  const run = async () => {
    const opened = await opening;
    if (finished) {
      await opened.close();
      throw new Error('abandoned after timeout');
    }
    session = opened;
    return work(opened);
  };
  try {
    return await withTimeout(abortable(run(), ctx.signal, SOURCE), ctx.timeoutMs, SOURCE, action);
  } catch (err) {
    throw mapError(err, config, action);
  } finally {
    finished = true;
    if (session) await session.close();
    else opening.then((s) => s.close(), () => undefined);
  }
}

export default defineConnector<LdapConfig>({
  type: 'ldap',
  displayName: 'LDAP / Active Directory',
  category: 'identity',
  description:
    'Users, groups and (nested) group memberships from OpenLDAP or Active Directory: paged searches, LDAPS / StartTLS, subschema discovery, incremental reads by modifyTimestamp or uSNChanged.',
  spec: ldapSpec,
  templates: ldapTemplates,
  targets: (raw) => parseLdapConfig(raw).urls.map((u) => parseLdapUrl(u).host),
  async check(raw, ctx) {
    const config = parseLdapConfig(raw);
    return withSession(config, ctx, 'check', checkLdap);
  },
  async discover(raw, ctx) {
    const config = parseLdapConfig(raw);
    return { streams: await withSession(config, ctx, 'discover', discoverLdap) };
  },
  async *read(raw, catalog, ctx) {
    const config = parseLdapConfig(raw);
    throwIfAborted(ctx.signal, SOURCE);
    let session: LdapSession;
    try {
      session = await LdapSession.open(config, ctx);
    } catch (err) {
      throw mapError(err, config, 'connect');
    }
    // a page in flight is interrupted by closing the connections
    const onAbort = () => void session.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      yield* readLdap(session, catalog, ctx);
    } catch (err) {
      if (ctx.signal.aborted) throw cancelledError(SOURCE, ctx.signal);
      throw mapError(err, config, 'read');
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await session.close();
    }
  },
});
