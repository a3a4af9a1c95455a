/**
 * MongoDB client: builds a MongoClient from the config (connection string or fields, TLS,
 * timeouts), guards every target host before connecting, and maps driver errors to SourceError
 * kinds. Nothing here logs or reports the connection string: it may carry a password.
 */
import {
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoServerSelectionError,
  type Db,
  type MongoClientOptions,
} from 'mongodb';
import { redact } from '../sdk/driver-errors.ts';
import { SourceError, isSourceError } from '../sdk/errors.ts';
import { findNetworkError } from '../sdk/error-chain.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import type { MongoConfig } from './spec.ts';

export const SOURCE = 'mongodb';

/** Server error codes (src/mongo/base/error_codes.yml) and what they mean for us. */
const SERVER_CODES: Record<number, SourceError['kind']> = {
  18: 'auth', // AuthenticationFailed
  8000: 'auth', // AtlasError ("bad auth")
  13: 'permission', // Unauthorized
  26: 'config', // NamespaceNotFound
  73: 'config', // InvalidNamespace
  50: 'timeout', // MaxTimeMSExpired
  262: 'timeout', // ExceededTimeLimit
  6: 'transient', // HostUnreachable
  7: 'transient', // HostNotFound
  89: 'transient', // NetworkTimeout
  91: 'transient', // ShutdownInProgress
  189: 'transient', // PrimarySteppedDown
  10107: 'transient', // NotWritablePrimary
  11600: 'transient', // InterruptedAtShutdown
  11602: 'transient', // InterruptedDueToReplStateChange
  13435: 'transient', // NotPrimaryNoSecondaryOk
  43: 'transient', // CursorNotFound (killed or timed out on the server: rerun the read)
};

/** The hosts a config points at, for the network guard (SRV: the SRV name itself). */
export function mongoTargets(config: MongoConfig): string[] {
  if (config.connectionString) return hostsOfConnectionString(config.connectionString);
  return config.host ? [config.host] : [];
}

/** Host names of a `mongodb://` / `mongodb+srv://` URI, without credentials or ports. */
export function hostsOfConnectionString(uri: string): string[] {
  const match = /^mongodb(?:\+srv)?:\/\/([^/?#]*)/i.exec(uri.trim());
  if (!match) throw new SourceError(SOURCE, 'the connection string must start with mongodb:// or mongodb+srv://', { kind: 'config' });
  const authority = match[1].slice(match[1].lastIndexOf('@') + 1);
  const hosts = authority
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0)
    .map((h) => (h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d+$/, '')))
    .map((h) => decodeURIComponent(h));
  if (hosts.length === 0) throw new SourceError(SOURCE, 'the connection string names no host', { kind: 'config' });
  return hosts;
}

function where(config: MongoConfig): string {
  if (config.connectionString) {
    try {
      return hostsOfConnectionString(config.connectionString).join(',');
    } catch {
      return 'the configured connection string';
    }
  }
  return `${config.host ?? '?'}:${config.port}`;
}

export function mongoClientOptions(config: MongoConfig): { uri: string; options: MongoClientOptions } {
  const options: MongoClientOptions = {
    appName: 'pip-service',
    connectTimeoutMS: config.connectTimeoutMs,
    serverSelectionTimeoutMS: config.connectTimeoutMs,
    socketTimeoutMS: config.socketTimeoutMs,
    maxPoolSize: 4,
    readPreference: 'secondaryPreferred',
    retryReads: true,
  };
  if (config.tls || config.caCertificate) options.tls = true;
  if (config.caCertificate) options.ca = config.caCertificate;
  if (config.tlsAllowInvalidCertificates) options.tlsAllowInvalidCertificates = true;
  if (config.connectionString) {
    // explicit fields only add to the URI: credentials in the URI keep priority
    if (!/@/.test(config.connectionString.split('/')[2] ?? '') && config.user) {
      options.auth = { username: config.user, password: config.password };
      if (config.authSource) options.authSource = config.authSource;
    }
    return { uri: config.connectionString, options };
  }
  if (!config.host) throw new SourceError(SOURCE, 'give either a connection string or a host', { kind: 'config' });
  if (config.user) {
    options.auth = { username: config.user, password: config.password };
    options.authSource = config.authSource ?? 'admin';
  }
  if (config.replicaSet) options.replicaSet = config.replicaSet;
  else options.directConnection = true;
  const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  return { uri: `mongodb://${host}:${config.port}/`, options };
}

function serverErrorOf(err: MongoServerSelectionError): MongoError | undefined {
  for (const server of err.reason?.servers.values() ?? []) {
    if (server.error) return server.error;
  }
  return undefined;
}

/** The password a connection string carries (`mongodb://user:PASSWORD@…`), decoded. */
export function passwordInConnectionString(uri: string | undefined): string | undefined {
  const userInfo = uri ? /^mongodb(?:\+srv)?:\/\/([^@/?#]*)@/i.exec(uri.trim())?.[1] : undefined;
  const colon = userInfo?.indexOf(':') ?? -1;
  if (!userInfo || colon < 0) return undefined;
  const raw = userInfo.slice(colon + 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Maps anything the driver throws to a SourceError; `action` says what we were doing. */
export function classifyMongoError(err: unknown, config: MongoConfig, action: string): SourceError {
  if (isSourceError(err)) return err;
  const target = where(config);
  const secrets = [config.password, config.connectionString, passwordInConnectionString(config.connectionString)];
  const original = (e: unknown) => (e instanceof Error ? e.message : String(e));
  const driverText = (e: unknown) => redact(original(e), secrets);
  // a cause whose text needed scrubbing is not kept: logging err.cause must not leak it
  const safeCause = (e: unknown) => (driverText(e) === original(e) ? e : undefined);
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === 'MongoParseError' || name === 'MongoInvalidArgumentError') {
    // parse errors (from the driver or mongodb-connection-string-url) quote the URI, password
    // included: keep neither message nor cause
    return new SourceError(SOURCE, 'the connection string or a connection option is not valid', { kind: 'config' });
  }
  if (err instanceof MongoServerSelectionError) {
    const serverError = serverErrorOf(err);
    if (serverError) return classifyMongoError(serverError, config, action);
    return new SourceError(SOURCE, `no server at ${target} answered within the timeout`, { kind: 'timeout', cause: err });
  }
  if (err instanceof MongoNetworkTimeoutError || err instanceof MongoOperationTimeoutError) {
    return new SourceError(SOURCE, `${action} at ${target} timed out`, { kind: 'timeout', cause: err });
  }
  if (err instanceof MongoNetworkError) {
    const net = findNetworkError(SOURCE, err, target);
    if (net) return net;
    return new SourceError(SOURCE, `connection to ${target} failed: ${driverText(err)}`, { kind: 'unreachable', cause: safeCause(err) });
  }
  if (err instanceof MongoError && typeof err.code === 'number') {
    const codeName = (err as { codeName?: string }).codeName ?? String(err.code);
    const kind = SERVER_CODES[err.code] ?? 'protocol';
    const detail = { code: err.code, codeName };
    if (kind === 'auth') {
      return new SourceError(SOURCE, `authentication to ${target} failed (${codeName})`, { kind, cause: err, detail });
    }
    return new SourceError(SOURCE, `${action} failed: ${driverText(err)} (${codeName})`, { kind, cause: safeCause(err), detail });
  }
  if (err instanceof MongoError && /credential|auth/i.test(err.name)) {
    return new SourceError(SOURCE, `the credentials are incomplete (${err.name})`, { kind: 'config' });
  }
  const net = findNetworkError(SOURCE, err, target);
  if (net) return net;
  return new SourceError(SOURCE, `${action} failed: ${driverText(err)}`, { kind: 'transient', cause: safeCause(err) });
}

/** An open connection to one database; close it when done. */
export class MongoSourceClient {
  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
    readonly config: MongoConfig,
  ) {}

  /** Guards every host, connects, and proves the server answers (`ping` authenticates too). */
  static async connect(config: MongoConfig, ctx: Pick<ConnectorContext, 'networkGuard' | 'signal'>): Promise<MongoSourceClient> {
    for (const host of mongoTargets(config)) await ctx.networkGuard.assertAllowed(host);
    let client: MongoClient;
    try {
      const { uri, options } = mongoClientOptions(config);
      client = new MongoClient(uri, options);
    } catch (err) {
      if (isSourceError(err)) throw err;
      // whatever the URI parser says may quote the URI, password included: say nothing of it
      throw new SourceError(SOURCE, 'the connection string or a connection option is not valid', { kind: 'config' });
    }
    const onAbort = () => void client.close(true).catch(() => undefined);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      const db = client.db(config.database);
      await db.command({ ping: 1 });
      return new MongoSourceClient(client, db, config);
    } catch (err) {
      await client.close(true).catch(() => undefined);
      if (ctx.signal.aborted) throw new SourceError(SOURCE, 'connect was cancelled', { kind: 'cancelled', cause: err });
      throw classifyMongoError(err, config, 'connect');
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
