/**
 * A cheap proof that the connection works: the bind succeeded (LdapSession.open), the root DSE
 * is readable, and each configured base DN exists and shows at least one entry through the
 * filter — a user base the bind account sees no user under is reported, since a sync would
 * publish nothing from it.
 */
import { isSourceError, SourceError } from '../sdk/errors.ts';
import type { CheckDetails } from '../sdk/types.ts';
import { wrapFilter } from './dn.ts';
import type { LdapSession } from './session.ts';
import { OID, SOURCE } from './vendors.ts';

async function checkBase(session: LdapSession, base: string, filter: string, what: 'user' | 'group'): Promise<{ dn: string; sample: string | null }> {
  const { client, vendor } = session;
  try {
    await client.search({ base, scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }, `read ${what} base`);
  } catch (err) {
    if (isSourceError(err) && err.detail?.ldapResult === 32) {
      throw new SourceError(SOURCE, `${what} base DN "${base}" does not exist (or the bind account may not see it)`, { kind: 'config', cause: err, detail: err.detail });
    }
    if (isSourceError(err) && err.kind === 'permission') {
      throw new SourceError(SOURCE, `the bind account may not read the ${what} base DN "${base}": ${err.message}`, { kind: 'permission', cause: err, detail: err.detail });
    }
    throw err;
  }
  const [sample] = await client.search({ base, filter: wrapFilter(filter), attributes: [vendor.idAttribute], binary: vendor.binaryAttributes, sizeLimit: 1 }, `search ${what}s under`);
  if (!sample && what === 'user') {
    throw new SourceError(SOURCE, `no entry matching the user filter ${filter} is visible under "${base}": grant the bind account read access there, or fix the filter`, {
      kind: 'permission',
    });
  }
  return { dn: base, sample: sample?.dn ?? null };
}

export async function checkLdap(session: LdapSession): Promise<CheckDetails> {
  const { client, dse, vendor, config } = session;
  const userBases = [];
  for (const base of config.userBaseDns) userBases.push(await checkBase(session, base, session.userFilter, 'user'));
  const groupBases = [];
  for (const base of config.groupBaseDns) groupBases.push(await checkBase(session, base, session.groupFilter, 'group'));
  return {
    server: client.endpoint.url,
    tls: client.tls,
    vendor: vendor.name,
    vendorName: dse.vendorName ?? vendor.displayName,
    vendorVersion: dse.vendorVersion,
    bindDn: config.bindDn || '(anonymous)',
    namingContexts: dse.namingContexts,
    pagedResults: dse.supportedControls.includes(OID.pagedResults),
    userBases,
    groupBases,
  };
}
