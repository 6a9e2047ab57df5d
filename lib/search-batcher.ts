// Concurrent searches of one index merged into one FAISS call: for a GPU index
// (native/gpu_index.h), whose calls take turns on the device and which answers a
// batch in about the time of one query, whatever its type. While a search of the
// index runs, searches that arrive with the same k and nprobe wait, and go to FAISS
// together when it finishes; an idle index adds no delay, since the first search
// starts at once. The service does the same, with gathering under load, in
// service/domain/search-scheduler.ts.
import type { SearchResult } from './types';

/** One FAISS search of `x` (rows of d), k neighbours each. */
export type SearchCall = (x: Float32Array, k: number, nprobe?: number) => Promise<SearchResult>;

interface Waiting {
  x: Float32Array;
  k: number;
  nprobe: number | undefined;
  resolve: (r: SearchResult) => void;
  reject: (e: unknown) => void;
}

export class SearchBatcher {
  private running = false;
  private waiting: Waiting[] = [];

  /** `maxQueries`: the most query rows in one call (a larger request still runs, alone). */
  constructor(
    private readonly d: number,
    private readonly run: SearchCall,
    private readonly maxQueries = 1024,
  ) {}

  search(x: Float32Array, k: number, nprobe?: number): Promise<SearchResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ x, k, nprobe, resolve, reject });
      if (!this.running) this.next();
    });
  }

  /** Runs the oldest waiting search with every other waiting one of its group (same k and nprobe). */
  private next(): void {
    const first = this.waiting[0];
    if (first === undefined) {
      this.running = false;
      return;
    }
    this.running = true;
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    let rows = 0;
    for (const w of this.waiting) {
      const n = w.x.length / this.d;
      if (w.k === first.k && w.nprobe === first.nprobe && (group.length === 0 || rows + n <= this.maxQueries)) {
        group.push(w);
        rows += n;
      } else {
        rest.push(w);
      }
    }
    this.waiting = rest;
    let x = first.x;
    if (group.length > 1) {
      x = new Float32Array(rows * this.d);
      let at = 0;
      for (const w of group) {
        x.set(w.x, at);
        at += w.x.length;
      }
    }
    this.run(x, first.k, first.nprobe)
      .then(
        (r) => {
          if (group.length === 1) return first.resolve(r);
          let row = 0;
          for (const w of group) {
            const n = w.x.length / this.d;
            // Copies: each caller owns its result's buffers, as a search of its own gives.
            w.resolve({ distances: r.distances.slice(row * w.k, (row + n) * w.k), labels: r.labels.slice(row * w.k, (row + n) * w.k) });
            row += n;
          }
        },
        (e) => {
          if (group.length === 1) return first.reject(e);
          // One caller's rows (a NaN, say) must not fail the others': each is asked again alone.
          for (const w of group) this.run(w.x, w.k, w.nprobe).then(w.resolve, w.reject);
        },
      )
      .finally(() => this.next());
  }
}
