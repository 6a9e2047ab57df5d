// Residency: which indexes are in memory. An index loads on first use; past the
// memory budget (--max-memory) the least recently used ones not in use are
// evicted (snapshotted first when their log is long) and load again when next
// used. Counts the cache's hits, misses, loads and evictions for operators.
import type { DurableObject } from './durable';

export interface CacheStats {
  hits: number;
  misses: number;
  loads: number;
  evictions: number;
  residentBytes: number;
  resident: number;
}

export class Residency {
  private readonly counters = { hits: 0, misses: 0, loads: 0, evictions: 0 };
  private enforcing = false;

  constructor(
    private readonly indexes: () => Iterable<DurableObject>,
    /** Bytes of indexes kept in memory before the least recently used are evicted; 0: no limit. */
    private readonly maxMemory: number,
  ) {}

  /** An index about to be used: a cache hit if it is in memory, else a miss (it loads). */
  noteUse(l: DurableObject): void {
    if (l.loaded) this.counters.hits++;
    else this.counters.misses++;
  }

  noteLoad(): void {
    this.counters.loads++;
  }

  stats(): CacheStats {
    const resident = [...this.indexes()].filter((l) => l.loaded);
    return { ...this.counters, resident: resident.length, residentBytes: resident.reduce((s, l) => s + l.residentBytes, 0) };
  }

  /** Evicts the least recently used indexes until the resident ones fit the budget. */
  enforceBudget(): void {
    const budget = this.maxMemory;
    if (budget <= 0 || this.enforcing) return;
    this.enforcing = true;
    void (async () => {
      try {
        for (;;) {
          const resident = [...this.indexes()].filter((l) => l.loaded);
          const total = resident.reduce((s, l) => s + l.residentBytes, 0);
          if (total <= budget) return;
          const victim = resident.filter((l) => !l.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
          if (!victim || resident.length <= 1) return; // the one in use stays, even if alone it is too big
          if (await victim.evict()) this.counters.evictions++;
          else return;
        }
      } catch (e) {
        console.error('faiss-proxy: eviction failed:', e);
      } finally {
        this.enforcing = false;
      }
    })();
  }
}
