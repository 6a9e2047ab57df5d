// Optional client-side cache of search results, keyed by the query and the
// index's version as last seen by this client. A mutation through this client
// clears the index's entries at once; writes by other clients are seen within
// ttlMs (the staleness bound the caller chose).
export interface ResultsCacheOptions {
  /** How long a cached answer may be reused, in ms. */
  ttlMs: number;
  /** Most entries kept (least recently used dropped first; default 1000). */
  maxEntries?: number;
}

/** FNV-1a over the query's bytes: fast, and needs no crypto module. */
export function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

export class ResultsCache<T> {
  private readonly entries = new Map<string, { value: T; at: number; query: Uint8Array; version: number }>();
  hits = 0;
  misses = 0;

  constructor(private readonly o: ResultsCacheOptions) {}

  /** The answer cached for this query at this index version, if still fresh. */
  get(key: string, query: Uint8Array, version: number): T | undefined {
    const e = this.entries.get(key);
    const fresh = e && e.version === version && Date.now() - e.at <= this.o.ttlMs && sameBytes(e.query, query);
    if (!fresh) {
      if (e) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, e);
    this.hits++;
    return e.value;
  }

  set(key: string, query: Uint8Array, version: number, value: T): void {
    this.entries.set(key, { value, at: Date.now(), query: query.slice(), version });
    const max = this.o.maxEntries ?? 1000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
