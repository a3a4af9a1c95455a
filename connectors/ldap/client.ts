/**
 * The LDAP client (ldapts): network guard → connect (ldap://, ldaps://, or StartTLS with the
 * configured CA) → simple bind; searches as an async generator of pages (RFC 2696 paged results,
 * one page in memory at a time) or, for small lookups, one answer; LDAP result codes and socket /
 * TLS errors mapped to SourceError kinds with the bind password scrubbed.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { AndFilter, Client, EqualityFilter, FilterParser, NotFilter, OrFilter, ResultCodeError, type Filter, type SearchOptions } from 'ldapts';
import { redact } from '../sdk/driver-errors.ts';
import { errorChain, findNetworkError } from '../sdk/error-chain.ts';
import { isSourceError, SourceError, type SourceErrorKind } from '../sdk/errors.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import { toLdapEntry, type LdapEntry } from './entry.ts';
import type { LdapConfig } from './spec.ts';
import { SOURCE } from './vendors.ts';

export { SOURCE };

export interface LdapUrl {
  url: string;
  secure: boolean;
  host: string;
  port: number;
}

export function parseLdapUrl(raw: string): LdapUrl {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new SourceError(SOURCE, `"${raw}" is not an LDAP URL`, { kind: 'config' });
  }
  const secure = parsed.protocol === 'ldaps:';
  if (!secure && parsed.protocol !== 'ldap:') throw new SourceError(SOURCE, `"${raw}" must start with ldap:// or ldaps://`, { kind: 'config' });
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new SourceError(SOURCE, `"${raw}" names no host`, { kind: 'config' });
  const port = parsed.port ? Number(parsed.port) : secure ? 636 : 389;
  return { url: `${secure ? 'ldaps' : 'ldap'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`, secure, host, port };
}

/** LDAP result codes (RFC 4511 §4.1.9) the service acts on. */
const RESULT_KINDS: Record<number, SourceErrorKind> = {
  3: 'timeout', // timeLimitExceeded
  4: 'permission', // sizeLimitExceeded: the account's size limit is below the directory size
  7: 'auth', // authMethodNotSupported
  8: 'tls', // strongerAuthRequired: the server wants TLS before a simple bind
  11: 'permission', // adminLimitExceeded
  13: 'tls', // confidentialityRequired
  32: 'config', // noSuchObject: a base DN that does not exist (or is hidden)
  34: 'config', // invalidDNSyntax
  48: 'auth', // inappropriateAuthentication (e.g. empty password)
  49: 'auth', // invalidCredentials
  50: 'permission', // insufficientAccessRights
  51: 'transient', // busy
  52: 'transient', // unavailable
  53: 'permission', // unwillingToPerform
  87: 'config', // filterError
};

const RESULT_HINTS: Partial<Record<number, string>> = {
  4: 'The directory stops the search at the bind account\'s size limit: raise it for that account (OpenLDAP `limits dn.exact=… size=unlimited`; AD MaxPageSize applies per page only).',
  11: 'The directory stops the search at an administrative limit: raise the bind account\'s limits.',
  32: 'A base DN does not exist or the bind account may not see it: check the DN and the account\'s read access.',
};

function tlsErrorCode(code: string | undefined): boolean {
  return !!code && (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|ERR_OSSL|HOSTNAME|ALTNAME/.test(code) || code === 'EPROTO');
}

export interface ErrorContext {
  target: string;
  secrets: Array<string | undefined>;
  action: string;
}

/** Any error of the client (or of our own code around it) → SourceError, secrets scrubbed. */
export function toLdapSourceError(err: unknown, ctx: ErrorContext): SourceError {
  if (isSourceError(err)) return err;
  const message = redact(String((err as Error | undefined)?.message ?? err), ctx.secrets).replace(/\s+/g, ' ').trim();
  const prefix = `${ctx.action} on ${ctx.target} failed`;
  const cause = message === String((err as Error | undefined)?.message ?? err).replace(/\s+/g, ' ').trim() ? err : undefined;
  if (err instanceof ResultCodeError) {
    const kind = RESULT_KINDS[err.code] ?? (err.code === 1 && /bind/i.test(message) ? 'auth' : 'protocol');
    return new SourceError(SOURCE, `${prefix}: ${message} (LDAP result ${err.code})`, { kind, cause, hint: RESULT_HINTS[err.code], detail: { ldapResult: err.code } });
  }
  for (const e of errorChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && tlsErrorCode(code)) {
      return new SourceError(SOURCE, `TLS to ${ctx.target} failed: ${message} (${code})`, { kind: 'tls', cause, detail: { code } });
    }
  }
  const network = findNetworkError(SOURCE, err, ctx.target);
  if (network) return new SourceError(SOURCE, redact(network.message.slice(SOURCE.length + 2), ctx.secrets), { kind: network.kind, cause });
  if (/Connection timeout|timed out/i.test(message)) return new SourceError(SOURCE, `${prefix}: ${message}`, { kind: 'timeout', cause });
  if (/Socket error|Connection closed|socket hang up|ECONNRESET/i.test(message)) return new SourceError(SOURCE, `${prefix}: ${message}`, { kind: 'transient', cause });
  if (/filter/i.test(message)) return new SourceError(SOURCE, `${prefix}: ${message}`, { kind: 'config', cause });
  return new SourceError(SOURCE, `${prefix}: ${message}`, { kind: 'protocol', cause });
}

export function tlsOptions(config: LdapConfig, host: string): ConnectionOptions {
  const opts: ConnectionOptions = { rejectUnauthorized: config.tlsRejectUnauthorized, host, minVersion: 'TLSv1.2' };
  if (config.tlsCaCertificate) opts.ca = config.tlsCaCertificate;
  const serverName = config.tlsServerName ?? (isIP(host) ? undefined : host);
  if (serverName) opts.servername = serverName;
  return opts;
}

/**
 * The filter as ldapts sends it. ldapts turns `\xx` escapes into characters and writes values as
 * UTF-8, so an escaped byte above 0x7f would reach the server as two bytes: the values of binary
 * attributes (AD objectGUID in targeted reads) are put back as the bytes they spell.
 */
export function toLdapFilter(text: string, binaryAttributes: string[] = []): string | Filter {
  const binary = new Set(binaryAttributes.map((a) => a.toLowerCase()));
  if (binary.size === 0 || ![...binary].some((a) => text.toLowerCase().includes(`${a}=`))) return text;
  const fix = (f: Filter): void => {
    if (f instanceof AndFilter || f instanceof OrFilter) f.filters.forEach(fix);
    else if (f instanceof NotFilter) fix(f.filter);
    else if (f instanceof EqualityFilter && binary.has(f.attribute.toLowerCase()) && typeof f.value === 'string') f.value = Buffer.from(f.value, 'latin1');
  };
  const parsed = FilterParser.parseString(text);
  fix(parsed);
  return parsed;
}

export interface SearchRequest {
  base: string;
  scope?: 'base' | 'one' | 'sub';
  filter?: string;
  attributes?: string[];
  /** attributes returned as Buffers (AD objectGUID) */
  binary?: string[];
  sizeLimit?: number;
}

export class LdapClient {
  private closed = false;

  private constructor(
    private readonly client: Client,
    readonly endpoint: LdapUrl,
    readonly tls: 'ldaps' | 'starttls' | 'none',
    private readonly secrets: Array<string | undefined>,
  ) {}

  /**
   * Connects to the first URL that answers (asking the network guard about each host first) and
   * binds. Unreachable servers are skipped; any other failure (bad password, TLS) stops at once.
   */
  static async open(config: LdapConfig, ctx: ConnectorContext): Promise<LdapClient> {
    const secrets = [config.bindPassword];
    if (config.bindDn && config.bindPassword === '') {
      throw new SourceError(SOURCE, 'a bind DN without a password would be an unauthenticated bind: set the password, or clear the bind DN for anonymous access', { kind: 'config' });
    }
    let lastError: SourceError | undefined;
    for (const raw of config.urls) {
      const endpoint = parseLdapUrl(raw);
      await ctx.networkGuard.assertAllowed(endpoint.host);
      const target = `${endpoint.host}:${endpoint.port}`;
      const client = new Client({
        url: endpoint.url,
        connectTimeout: config.connectTimeoutMs,
        timeout: config.operationTimeoutMs,
        tlsOptions: endpoint.secure ? tlsOptions(config, endpoint.host) : undefined,
        strictDN: false,
      });
      let step = 'connect';
      try {
        if (config.startTls && !endpoint.secure) {
          step = 'StartTLS';
          await client.startTLS(tlsOptions(config, endpoint.host));
        }
        step = 'bind';
        if (config.bindDn) await client.bind(config.bindDn, config.bindPassword);
        const tls = endpoint.secure ? 'ldaps' : config.startTls ? 'starttls' : 'none';
        return new LdapClient(client, endpoint, tls, secrets);
      } catch (err) {
        await client.unbind().catch(() => undefined);
        let mapped = toLdapSourceError(err, { target, secrets, action: step });
        const text = String((err as Error | undefined)?.message ?? '');
        if (step === 'StartTLS' && (mapped.kind === 'protocol' || err instanceof ResultCodeError)) {
          // a server refusing the StartTLS request itself is a TLS problem, not a protocol one
          mapped = new SourceError(SOURCE, mapped.message.slice(SOURCE.length + 2), { kind: 'tls', cause: mapped.cause, detail: mapped.detail });
        } else if (endpoint.secure && /before secure TLS connection was established/i.test(text)) {
          mapped = new SourceError(SOURCE, `${target} closed the connection during the TLS handshake: is it an ldaps:// port? (plain LDAP usually listens on 389 with StartTLS)`, { kind: 'tls', cause: mapped.cause });
        } else if (!endpoint.secure && /Connection closed before message response/i.test(text)) {
          mapped = new SourceError(SOURCE, `${target} closed the connection at the first request: a port that expects TLS? (use ldaps:// for port 636)`, { kind: 'tls', cause: mapped.cause });
        }
        if (!['unreachable', 'dns', 'timeout', 'transient'].includes(mapped.kind)) throw mapped;
        lastError = mapped;
      }
    }
    throw lastError ?? new SourceError(SOURCE, 'no server URL configured', { kind: 'config' });
  }

  get target(): string {
    return `${this.endpoint.host}:${this.endpoint.port}`;
  }

  toSourceError(err: unknown, action: string): SourceError {
    return toLdapSourceError(err, { target: this.target, secrets: this.secrets, action });
  }

  private options(req: SearchRequest): SearchOptions {
    return {
      scope: req.scope ?? 'sub',
      filter: toLdapFilter(req.filter ?? '(objectClass=*)', req.binary),
      attributes: req.attributes,
      explicitBufferAttributes: req.binary,
      sizeLimit: req.sizeLimit,
      derefAliases: 'never',
    };
  }

  /** One search answered at once: for base-scope reads and batched lookups of a few entries. */
  async search(req: SearchRequest, action = 'search'): Promise<LdapEntry[]> {
    try {
      const result = await this.client.search(req.base, this.options(req));
      return result.searchEntries.map(toLdapEntry);
    } catch (err) {
      throw this.toSourceError(err, `${action} ${req.base}`);
    }
  }

  /** A base-scope read; undefined when the entry does not exist. */
  async read(dn: string, attributes: string[], binary?: string[]): Promise<LdapEntry | undefined> {
    try {
      const result = await this.client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes, explicitBufferAttributes: binary, derefAliases: 'never' });
      return result.searchEntries[0] ? toLdapEntry(result.searchEntries[0]) : undefined;
    } catch (err) {
      if (err instanceof ResultCodeError && err.code === 32) return undefined;
      throw this.toSourceError(err, `read ${dn}`);
    }
  }

  /** A paged search (RFC 2696): yields one page of entries at a time. */
  async *pages(req: SearchRequest & { pageSize: number }, action = 'search'): AsyncGenerator<LdapEntry[]> {
    const pages = this.client.searchPaginated(req.base, { ...this.options(req), paged: { pageSize: req.pageSize } });
    try {
      for (;;) {
        let page: IteratorResult<{ searchEntries: unknown[] }>;
        try {
          page = await pages.next();
        } catch (err) {
          throw this.toSourceError(err, `${action} ${req.base}`);
        }
        if (page.done) return;
        yield (page.value.searchEntries as Parameters<typeof toLdapEntry>[0][]).map(toLdapEntry);
      }
    } finally {
      // a consumer that stops early leaves the server-side paging state to the unbind
      await pages.return(undefined).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.race([this.client.unbind().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}
