/**
 * The cache behind documents and other derived data: Redis when REDIS_URL is set, an in-process
 * store on the embedded default. Callers treat every cache error as a miss (the store is the
 * truth), and /healthz reports the cache as degraded.
 */
import { Redis } from 'ioredis';

export interface Cache {
  kind: 'memory' | 'redis';
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  ping(): Promise<number>;
  close(): Promise<void>;
}

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, { value: Buffer; expires: number }>();
  constructor(private readonly maxEntries = 10_000) {}

  async get(key: string): Promise<Buffer | null> {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.expires <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    // refresh recency (Map keeps insertion order: oldest first)
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }
  async set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value: Buffer.isBuffer(value) ? value : Buffer.from(value), expires: Date.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.entries.delete(k);
  }
  async ping(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {
    this.entries.clear();
  }
}

export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  constructor(url: string, private readonly prefix = 'pip:') {
    // fail fast while Redis is down instead of queueing commands: callers fall back to the store
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
    this.redis.on('error', () => {
      /* reported through ping() and /healthz; ioredis reconnects by itself */
    });
  }
  async get(key: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.prefix + key);
  }
  async set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'EX', Math.max(1, Math.round(ttlSeconds)));
  }
  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys.map((k) => this.prefix + k));
  }
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.redis.ping();
    return performance.now() - t0;
  }
  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export function createCache(redisUrl?: string, prefix?: string): Cache {
  return redisUrl ? new RedisCache(redisUrl, prefix) : new MemoryCache();
}
