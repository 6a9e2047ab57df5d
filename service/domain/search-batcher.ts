// Dynamic batching of searches. While a search of an index is running, searches
// that arrive for the same index with the same k and tunables wait, and go to
// FAISS together as one batch when it finishes: FAISS answers 32 queries in one
// call far faster than in 32 calls (a flat index turns a batch of 20 or more into
// one BLAS matrix product), and an idle index adds no delay at all, since the
// first search starts at once.
//
// Under load, the clients answered by one batch send their next searches a few
// milliseconds later (the HTTP round trip). Were the next batch to start at once,
// with only the searches that arrived meanwhile, concurrent clients would split
// into two cohorts that alternate, each batch half as large as it could be. So
// after a batch of concurrent searches the batcher gathers: it waits until the
// clients just answered are back beside those already waiting, or until a window
// passes: as long as the batch itself took (a straggler left for the next batch
// would wait that long anyway, and a second batch would cost that much again),
// at most windowMs. A lone client never waits, and a small index (a batch in well
// under a millisecond) gathers for well under a millisecond.
import type { SearchParams, SearchResult } from '../../lib';

type Answer = SearchResult & { version: number };

interface Waiting {
  x: Float32Array;
  resolve: (r: Answer) => void;
  reject: (e: unknown) => void;
}

interface Lane {
  running: boolean;
  waiting: Waiting[];
  queries: number;
  /** Set while gathering: ends it (called once `expected` searches wait, or the batch is full). */
  gathered?: () => void;
  expected: number;
}

export interface BatchingOptions {
  /** Most query vectors in one FAISS call (0 turns batching off). */
  maxQueries: number;
  /** Between consecutive batches, the longest gathering window, in ms (0: none). */
  windowMs: number;
}

/**
 * Whether batching pays for an index built from `factory`. It does for brute-force
 * (Flat) indexes: FAISS answers a batch of 20 or more with one BLAS product, five
 * times the throughput of single searches over HTTP at 32 clients (npm run
 * bench:batching). For graph and inverted-file indexes a query costs the same
 * alone or in a batch, and one batch at a time leaves cores idle that concurrent
 * single searches would use: HNSW over HTTP at 8 clients made 17% fewer searches
 * a second with batching than without (npm run bench, --server-arg). Imported
 * indexes are recorded as "imported <FAISS class>".
 */
export function gainsFromBatching(factory: string): boolean {
  return /^(IDMap2?,)?Flat$/.test(factory) || /^imported IndexFlat(L2|IP)?$/.test(factory);
}

export interface BatchStats {
  searches: number;
  batches: number;
}

export class SearchBatcher {
  private readonly lanes = new Map<string, Lane>();

  /** `stats` may be shared by many batchers (one service-wide total). */
  constructor(
    private readonly stats: BatchStats,
    private readonly d: number,
    private readonly o: BatchingOptions,
    private readonly run: (x: Float32Array, k: number, params?: SearchParams) => Promise<Answer>,
  ) {}

  search(x: Float32Array, k: number, params?: SearchParams): Promise<Answer> {
    this.stats.searches++;
    const nq = x.length / this.d;
    if (this.o.maxQueries <= 0 || nq >= this.o.maxQueries) {
      this.stats.batches++;
      return this.run(x, k, params);
    }
    const key = `${k}|${params?.nprobe ?? ''}|${params?.efSearch ?? ''}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { running: false, waiting: [], queries: 0, expected: 0 };
      this.lanes.set(key, lane);
    }
    const answer = new Promise<Answer>((resolve, reject) => lane!.waiting.push({ x, resolve, reject }));
    lane.queries += nq;
    if (lane.gathered && (lane.waiting.length >= lane.expected || lane.queries >= this.o.maxQueries)) lane.gathered();
    if (!lane.running) {
      lane.running = true;
      void this.drain(key, lane, k, params);
    }
    return answer;
  }

  /** Runs batches until nobody waits; one batch at a time per lane. */
  private async drain(key: string, lane: Lane, k: number, params?: SearchParams): Promise<void> {
    while (lane.waiting.length > 0) {
      const batch: Waiting[] = [];
      let queries = 0;
      while (lane.waiting.length > 0 && (batch.length === 0 || queries + lane.waiting[0].x.length / this.d <= this.o.maxQueries)) {
        const w = lane.waiting.shift()!;
        queries += w.x.length / this.d;
        batch.push(w);
      }
      lane.queries -= queries;
      this.stats.batches++;
      const started = performance.now();
      await this.runBatch(batch, queries, k, params);
      const ranMs = performance.now() - started;
      if (this.o.windowMs > 0 && batch.length > 1 && lane.queries < this.o.maxQueries) {
        await this.gather(lane, batch.length + lane.waiting.length, Math.min(this.o.windowMs, ranMs));
      }
    }
    lane.running = false;
    this.lanes.delete(key);
  }

  /** Resolves when `expected` searches wait (or the batch is full), or after windowMs. */
  private gather(lane: Lane, expected: number, windowMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let turn: NodeJS.Immediate | undefined;
      const done = () => {
        if (lane.gathered !== done) return;
        lane.gathered = undefined;
        clearTimeout(timer);
        clearImmediate(turn);
        resolve();
      };
      lane.expected = expected;
      lane.gathered = done;
      if (windowMs >= 1) {
        timer = setTimeout(done, windowMs);
      } else {
        // Timers have a 1 ms grain: a shorter window is counted in event-loop
        // turns, each of which reads the requests that have arrived meanwhile.
        const deadline = performance.now() + windowMs;
        const poll = () => {
          if (performance.now() >= deadline) done();
          else turn = setImmediate(poll);
        };
        turn = setImmediate(poll);
      }
    });
  }

  private async runBatch(batch: Waiting[], queries: number, k: number, params?: SearchParams): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0];
      await this.run(only.x, k, params).then(only.resolve, only.reject);
      return;
    }
    const x = new Float32Array(queries * this.d);
    let at = 0;
    for (const w of batch) {
      x.set(w.x, at);
      at += w.x.length;
    }
    let answer: Answer;
    try {
      answer = await this.run(x, k, params);
    } catch (e) {
      // One bad query must not fail its neighbours: answer each on its own.
      for (const w of batch) await this.run(w.x, k, params).then(w.resolve, w.reject);
      return;
    }
    let row = 0;
    for (const w of batch) {
      const nq = w.x.length / this.d;
      const from = row * k;
      const to = (row + nq) * k;
      w.resolve({ distances: answer.distances.slice(from, to), labels: answer.labels.slice(from, to), version: answer.version });
      row += nq;
    }
  }
}
