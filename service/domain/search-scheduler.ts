// The one place that decides how a search of an index runs. Every search of the
// service comes here (IndexService.search); the scheduler decides whether it runs
// alone or joins concurrent searches of the same index in one FAISS call. Where
// the FAISS call then runs is the addon's: on its search threads (native/
// search_lanes.cc; --search-threads, 0 for the libuv pool). The service never runs
// a search on the event loop: that is its bottleneck under load (the library's
// inline search, lib/inline-search.ts, is turned off by startServer).
//
// Batching. An index gains from it when FAISS answers a batch faster than the
// same queries one call each: the addon says so from the FAISS type of the loaded
// index (`batchable`, native/index_type.cc: brute-force flat indexes). While a
// search of such an index is running, searches that arrive for it with the same k
// and tunables (a "group") wait, and go to FAISS together as one batch when it
// finishes; an idle index adds no delay at all, since the first search starts at
// once. Searches of other indexes, of an index not loaded yet (its type is not
// known until it is), and searches with the caller's own filter (a selector:
// one FAISS call takes one) run alone.
//
// Under load, the clients answered by one batch send their next searches a few
// milliseconds later (the HTTP round trip). Were the next batch to start at once,
// with only the searches that arrived meanwhile, concurrent clients would split
// into two cohorts that alternate, each batch half as large as it could be. So
// after a batch of concurrent searches the scheduler gathers: it waits until the
// clients just answered are back beside those already waiting, or until a window
// passes: as long as the batch itself took (a straggler left for the next batch
// would wait that long anyway, and a second batch would cost that much again),
// at most maxWaitMs. A lone client never waits, and a small index (a batch in well
// under a millisecond) gathers for well under a millisecond.
import type { SearchParams, SearchResult } from '../../lib';

/** A search's answer and the index version it reflects (at least). */
export type SearchAnswer = SearchResult & { version: number };

/** What the scheduler searches: one index (DurableIndex), or a stand-in in tests. */
export interface SearchTarget {
  /** The dimension of its vectors. */
  readonly d: number;
  /** Whether concurrent searches of it gain from one FAISS call; undefined while not known (not loaded). */
  readonly batchable: boolean | undefined;
  search(x: Float32Array, k: number, params?: SearchParams): Promise<SearchAnswer>;
}

export interface SchedulingOptions {
  /** Whether concurrent searches of a batchable index become one FAISS call (--batching). */
  batching: boolean;
  /** Between consecutive batches, the longest a search waits for others to gather, in ms (--batch-max-wait-ms; 0: none). */
  maxWaitMs: number;
}

/** Searches answered, and the FAISS calls made for them: batching saves the difference. */
export interface SearchStats {
  searches: number;
  batches: number;
}

/**
 * The most query vectors in one FAISS call: past a few dozen a flat batch gains
 * nothing more per query (npm run bench:batching), and a request already this
 * large runs alone.
 */
export const MAX_BATCH_QUERIES = 256;

interface Waiting {
  x: Float32Array;
  resolve: (r: SearchAnswer) => void;
  reject: (e: unknown) => void;
}

/** Searches of one index with the same k and tunables: the ones that may share a FAISS call. */
interface Group {
  running: boolean;
  waiting: Waiting[];
  queries: number;
  /** Set while gathering: ends it (called once `expected` searches wait, or the batch is full). */
  gathered?: () => void;
  expected: number;
}

export class SearchScheduler {
  private readonly groups = new WeakMap<SearchTarget, Map<string, Group>>();
  private readonly counts: SearchStats = { searches: 0, batches: 0 };

  constructor(private readonly o: SchedulingOptions) {}

  stats(): SearchStats {
    return { ...this.counts };
  }

  search(target: SearchTarget, x: Float32Array, k: number, params?: SearchParams): Promise<SearchAnswer> {
    this.counts.searches++;
    const nq = x.length / target.d;
    if (!this.o.batching || target.batchable !== true || nq >= MAX_BATCH_QUERIES || params?.sel !== undefined) {
      this.counts.batches++;
      return target.search(x, k, params);
    }
    let groups = this.groups.get(target);
    if (!groups) this.groups.set(target, (groups = new Map()));
    const key = `${k}|${params?.nprobe ?? ''}|${params?.efSearch ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      group = { running: false, waiting: [], queries: 0, expected: 0 };
      groups.set(key, group);
    }
    const answer = new Promise<SearchAnswer>((resolve, reject) => group!.waiting.push({ x, resolve, reject }));
    group.queries += nq;
    if (group.gathered && (group.waiting.length >= group.expected || group.queries >= MAX_BATCH_QUERIES)) group.gathered();
    if (!group.running) {
      group.running = true;
      void this.drain(target, groups, key, group, k, params);
    }
    return answer;
  }

  /** Runs batches until nobody waits; one batch at a time per group. */
  private async drain(target: SearchTarget, groups: Map<string, Group>, key: string, group: Group, k: number, params?: SearchParams): Promise<void> {
    while (group.waiting.length > 0) {
      const batch: Waiting[] = [];
      let queries = 0;
      while (group.waiting.length > 0 && (batch.length === 0 || queries + group.waiting[0].x.length / target.d <= MAX_BATCH_QUERIES)) {
        const w = group.waiting.shift()!;
        queries += w.x.length / target.d;
        batch.push(w);
      }
      group.queries -= queries;
      this.counts.batches++;
      const started = performance.now();
      await this.runBatch(target, batch, queries, k, params);
      const ranMs = performance.now() - started;
      if (this.o.maxWaitMs > 0 && batch.length > 1 && group.queries < MAX_BATCH_QUERIES) {
        await this.gather(group, batch.length + group.waiting.length, Math.min(this.o.maxWaitMs, ranMs));
      }
    }
    group.running = false;
    groups.delete(key);
  }

  /** Resolves when `expected` searches wait (or the batch is full), or after windowMs. */
  private gather(group: Group, expected: number, windowMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let turn: NodeJS.Immediate | undefined;
      const done = () => {
        if (group.gathered !== done) return;
        group.gathered = undefined;
        clearTimeout(timer);
        clearImmediate(turn);
        resolve();
      };
      group.expected = expected;
      group.gathered = done;
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

  private async runBatch(target: SearchTarget, batch: Waiting[], queries: number, k: number, params?: SearchParams): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0];
      await target.search(only.x, k, params).then(only.resolve, only.reject);
      return;
    }
    const x = new Float32Array(queries * target.d);
    let at = 0;
    for (const w of batch) {
      x.set(w.x, at);
      at += w.x.length;
    }
    let answer: SearchAnswer;
    try {
      answer = await target.search(x, k, params);
    } catch (e) {
      // One bad query must not fail its neighbours: answer each on its own.
      for (const w of batch) await target.search(w.x, k, params).then(w.resolve, w.reject);
      return;
    }
    let row = 0;
    for (const w of batch) {
      const nq = w.x.length / target.d;
      const from = row * k;
      const to = (row + nq) * k;
      w.resolve({ distances: answer.distances.slice(from, to), labels: answer.labels.slice(from, to), version: answer.version });
      row += nq;
    }
  }
}
