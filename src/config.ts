/**
 * Configuration from the environment, checked once at start (a bad value stops the process with a
 * message naming the variable, never at the first request).
 */
import path from 'node:path';

export type ProcessRole = 'api' | 'worker' | 'all';

export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** database role RLS applies to; the service switches to it in every transaction */
  dbAppRole: string;
  bootstrapAdminKey?: string;
  /** `v1:base64key,v2:base64key` — newest version wins for new encryptions */
  encryptionKeys?: string;
  publicUrl: string;
  role: ProcessRole;
  opalServerUrl?: string;
  opalDatasourceToken?: string;
  opalAuthPublicKey?: string;
  opalAuthJwksUrl?: string;
  logLevel: string;
  /** requests per minute per API key (0 disables) */
  rateLimitPerMinute: number;
  /** largest accepted request body in bytes */
  bodyLimitBytes: number;
  /** network guard for connection targets */
  network: { allowPrivate: boolean; allow: string[]; deny: string[] };
  sync: {
    concurrency: number;
    batchSize: number;
    leaseSeconds: number;
    maxAttempts: number;
    retryBaseSeconds: number;
    massDeleteThreshold: number;
    minIntervalSeconds: number;
    logRetentionDays: number;
    pollSeconds: number;
    schedulerTickSeconds: number;
    staleAfterSeconds: number;
    jobExpireSeconds: number;
  };
  /** the OPAL/OPA data plane (src/opal) */
  opal: OpalConfig;
  version: string;
}

export interface OpalConfig {
  /** OPA data path prefix: tenant `acme` lands under data.<prefix>.acme */
  dstPrefix: string;
  /** OPAL client JWTs on /opal/data-sources: audience, issuer, claim that names the tenant */
  authAudience: string;
  authIssuer: string;
  tenantClaim: string;
  /** changes of one tenant within this window become one DataUpdate */
  publishWindowMs: number;
  publishMaxAttempts: number;
  publishRetryBaseMs: number;
  publishTimeoutMs: number;
  /** how often meta (synced_at, status, stale) is checked for changes without a new revision; 0: never */
  metaRefreshSeconds: number;
  /** cache TTL of a built document by the most sensitive field it carries */
  cacheTtlSeconds: Record<'public' | 'internal' | 'confidential' | 'restricted', number>;
  /** how long a document version read from the store is trusted before it is read again (ms; 0: every request) */
  versionCheckMs: number;
  /** in-process copies of built documents (bytes, all tenants) */
  hotCacheBytes: number;
  /** a document larger than this is logged and counted */
  documentWarnBytes: number;
  /** a source larger than this is published as one entry per stream */
  entrySplitBytes: number;
  /** data token lifetime in seconds; 0: no expiry (revoke by bumping the tenant's token version) */
  dataTokenTtlSeconds: number;
  /** default identity merge key: email | username | id | attribute:<name> */
  userKey: string;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(name, `expected a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`configuration ${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `expected an integer between ${min} and ${max}, got "${raw}"`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function url(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = int(env, 'PORT', 8000, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  const role = (env.PIP_ROLE || 'all') as ProcessRole;
  if (!['api', 'worker', 'all'].includes(role)) throw new ConfigError('PIP_ROLE', `expected api, worker or all, got "${role}"`);
  const bootstrapAdminKey = env.PIP_BOOTSTRAP_ADMIN_KEY || undefined;
  if (bootstrapAdminKey !== undefined && bootstrapAdminKey.length < 24) {
    throw new ConfigError('PIP_BOOTSTRAP_ADMIN_KEY', 'must be at least 24 characters');
  }
  const dbAppRole = env.PIP_DB_APP_ROLE || 'pip_app';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbAppRole)) throw new ConfigError('PIP_DB_APP_ROLE', 'must be a lowercase SQL identifier');
  return {
    port,
    host,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl: url(env, 'DATABASE_URL'),
    redisUrl: url(env, 'REDIS_URL'),
    dbAppRole,
    bootstrapAdminKey,
    encryptionKeys: env.PIP_ENCRYPTION_KEYS || undefined,
    publicUrl: (url(env, 'PIP_PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    role,
    opalServerUrl: url(env, 'OPAL_SERVER_URL'),
    opalDatasourceToken: env.OPAL_DATASOURCE_TOKEN || undefined,
    opalAuthPublicKey: env.OPAL_AUTH_PUBLIC_KEY || undefined,
    opalAuthJwksUrl: url(env, 'OPAL_AUTH_JWKS_URL'),
    logLevel: env.LOG_LEVEL || 'info',
    rateLimitPerMinute: int(env, 'PIP_RATE_LIMIT_PER_MINUTE', 600),
    bodyLimitBytes: int(env, 'PIP_BODY_LIMIT_BYTES', 1_048_576, 1024),
    network: {
      allowPrivate: bool(env, 'PIP_NETWORK_ALLOW_PRIVATE', true),
      allow: list(env, 'PIP_NETWORK_ALLOW'),
      deny: list(env, 'PIP_NETWORK_DENY'),
    },
    sync: {
      concurrency: int(env, 'PIP_SYNC_CONCURRENCY', 2, 1, 64),
      batchSize: int(env, 'PIP_SYNC_BATCH_SIZE', 2000, 1, 10_000),
      leaseSeconds: int(env, 'PIP_SYNC_LEASE_SECONDS', 30, 2, 3600),
      maxAttempts: int(env, 'PIP_SYNC_MAX_ATTEMPTS', 4, 1, 20),
      retryBaseSeconds: num(env, 'PIP_SYNC_RETRY_BASE_SECONDS', 30, 0.1, 3600),
      massDeleteThreshold: num(env, 'PIP_SYNC_MASS_DELETE_THRESHOLD', 0.5, 0, 1),
      minIntervalSeconds: int(env, 'PIP_SYNC_MIN_INTERVAL_SECONDS', 60, 1, 86_400),
      logRetentionDays: int(env, 'PIP_SYNC_LOG_RETENTION_DAYS', 30, 1, 3650),
      pollSeconds: num(env, 'PIP_SYNC_POLL_SECONDS', 1, 0.5, 60),
      schedulerTickSeconds: num(env, 'PIP_SCHEDULER_TICK_SECONDS', 5, 0.2, 300),
      staleAfterSeconds: int(env, 'PIP_SYNC_STALE_AFTER_SECONDS', 86_400, 60, 31_536_000),
      jobExpireSeconds: int(env, 'PIP_SYNC_JOB_EXPIRE_SECONDS', 6 * 3600, 60, 86_400),
    },
    opal: loadOpalConfig(env),
    version: env.npm_package_version || '0.1.0',
  };
}

const SENSITIVITY_TTL_DEFAULTS = { public: 3600, internal: 900, confidential: 300, restricted: 60 };

function loadOpalConfig(env: NodeJS.ProcessEnv): OpalConfig {
  const ttl = { ...SENSITIVITY_TTL_DEFAULTS };
  for (const part of list(env, 'PIP_OPAL_CACHE_TTL_SECONDS')) {
    const m = /^(public|internal|confidential|restricted):(\d+)$/.exec(part);
    if (!m) throw new ConfigError('PIP_OPAL_CACHE_TTL_SECONDS', `expected level:seconds pairs such as "internal:900,restricted:60", got "${part}"`);
    ttl[m[1] as keyof typeof ttl] = Math.max(1, Number(m[2]));
  }
  const dstPrefix = env.PIP_OPAL_DST_PREFIX ?? 'pip';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}(\/[A-Za-z_][A-Za-z0-9_]{0,62})*$/.test(dstPrefix)) throw new ConfigError('PIP_OPAL_DST_PREFIX', 'must be one or more identifiers separated by /');
  const userKey = env.PIP_OPAL_USER_KEY || 'email';
  if (!/^(email|username|id|attribute:[A-Za-z0-9_.-]{1,128})$/.test(userKey)) throw new ConfigError('PIP_OPAL_USER_KEY', 'expected email, username, id or attribute:<name>');
  return {
    dstPrefix,
    authAudience: env.OPAL_AUTH_AUDIENCE || 'https://api.opal.ac/v1/',
    authIssuer: env.OPAL_AUTH_ISSUER || 'https://opal.ac/',
    tenantClaim: env.OPAL_AUTH_TENANT_CLAIM || 'tenant',
    publishWindowMs: int(env, 'PIP_OPAL_PUBLISH_WINDOW_MS', 250, 0, 60_000),
    publishMaxAttempts: int(env, 'PIP_OPAL_PUBLISH_MAX_ATTEMPTS', 5, 1, 20),
    publishRetryBaseMs: int(env, 'PIP_OPAL_PUBLISH_RETRY_BASE_MS', 500, 1, 600_000),
    publishTimeoutMs: int(env, 'PIP_OPAL_PUBLISH_TIMEOUT_MS', 5_000, 100, 120_000),
    metaRefreshSeconds: num(env, 'PIP_OPAL_META_REFRESH_SECONDS', 60, 0, 86_400),
    cacheTtlSeconds: ttl,
    versionCheckMs: int(env, 'PIP_OPAL_VERSION_CHECK_MS', 1000, 0, 60_000),
    hotCacheBytes: int(env, 'PIP_OPAL_HOT_CACHE_BYTES', 512 * 1024 * 1024, 0),
    documentWarnBytes: int(env, 'PIP_OPAL_DOCUMENT_WARN_BYTES', 32 * 1024 * 1024, 1024),
    entrySplitBytes: int(env, 'PIP_OPAL_ENTRY_SPLIT_BYTES', 8 * 1024 * 1024, 1024),
    dataTokenTtlSeconds: int(env, 'PIP_OPAL_DATA_TOKEN_TTL_SECONDS', 0, 0),
    userKey,
  };
}
