/**
 * Behaves like an OPAL client's HTTP fetcher and policy store, enough to test what OPAL would
 * end up with: each entry is fetched with its config.headers within 5 s, the answer must be
 * `application/json` holding an object (aiohttp's `res.json()` refuses other content types),
 * null keys are dropped, and the data is PUT at the entry's dst_path of an in-memory tree. A
 * failing entry (status ≥ 400, timeout, not JSON, not an object) leaves the tree as it was.
 */
export interface Entry {
  url: string;
  topics: string[];
  dst_path: string;
  config?: { headers?: Record<string, string> };
}

export class FetchFailure extends Error {
  constructor(readonly entry: Entry, readonly status: number | undefined, message: string) {
    super(message);
  }
}

function dropNullKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNullKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNullKeys(x)]));
  return v;
}

export class FakeOpalClient {
  tree: Record<string, unknown> = {};
  fetches = 0;
  constructor(private readonly topics: string[]) {}

  async fetchEntry(entry: Entry): Promise<Record<string, unknown>> {
    this.fetches++;
    let res: Response;
    try {
      res = await fetch(entry.url, { headers: entry.config?.headers ?? {}, signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      throw new FetchFailure(entry, undefined, `fetch failed: ${(err as Error).message}`);
    }
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    if (res.status >= 400) throw new FetchFailure(entry, res.status, `HTTP ${res.status} (${type}): ${text.slice(0, 200)}`);
    if (!/^application\/json\b/.test(type)) throw new FetchFailure(entry, res.status, `not application/json but ${type}`);
    const data = JSON.parse(text);
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new FetchFailure(entry, res.status, 'not a JSON object');
    return dropNullKeys(data) as Record<string, unknown>;
  }

  put(dstPath: string, data: unknown): void {
    const parts = dstPath.split('/').filter(Boolean);
    if (parts.length === 0) throw new Error('refusing to write the root');
    let node = this.tree;
    for (const p of parts.slice(0, -1)) {
      if (!node[p] || typeof node[p] !== 'object') node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = data;
  }

  /** applies entries in order, like a data update: failures keep the old data at that path */
  async apply(entries: Entry[]): Promise<{ applied: string[]; failures: FetchFailure[] }> {
    const applied: string[] = [];
    const failures: FetchFailure[] = [];
    for (const e of entries) {
      if (!e.topics.some((t) => this.topics.includes(t))) continue; // OPAL skips it with a warning
      try {
        this.put(e.dst_path, await this.fetchEntry(e));
        applied.push(e.dst_path);
      } catch (err) {
        if (!(err instanceof FetchFailure)) throw err;
        failures.push(err);
      }
    }
    return { applied, failures };
  }

  get(path: string): unknown {
    return path.split('/').filter(Boolean).reduce<unknown>((n, p) => (n && typeof n === 'object' ? (n as Record<string, unknown>)[p] : undefined), this.tree);
  }
}
