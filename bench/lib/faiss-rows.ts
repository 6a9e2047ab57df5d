// What npm run bench:faiss measures, shared by its parent (bench/faiss.ts) and its
// two sides: the addon (bench/lib/faiss-addon-side.ts) and a Python FAISS
// (bench/faiss_python.py, which reads the same JSON). One side runs one round in a
// child process and prints a SideResult as the last line of its stdout.
import type { SearchSchedule } from './common';

export const INDEXES = ['flat', 'hnsw', 'ivf'] as const;
export type IndexKind = (typeof INDEXES)[number];

/** The eight rows, in its order. */
export const ROWS = [
  { id: 'flat-1', kind: 'flat', what: 'single' },
  { id: 'flat-batch', kind: 'flat', what: 'batch' },
  { id: 'hnsw-build', kind: 'hnsw', what: 'build' },
  { id: 'hnsw-1', kind: 'hnsw', what: 'single' },
  { id: 'hnsw-batch', kind: 'hnsw', what: 'batch' },
  { id: 'ivf-build', kind: 'ivf', what: 'build' },
  { id: 'ivf-1', kind: 'ivf', what: 'single' },
  { id: 'ivf-batch', kind: 'ivf', what: 'batch' },
] as const;
export type Row = (typeof ROWS)[number];

/** How one side times the searches of one index in one round (bench/lib/common.ts); the Python side follows it too. */
export type { SearchSchedule } from './common';

export interface BenchShape {
  d: number;
  k: number;
  /** Base vectors: flat and IVF hold all of them; HNSW the first hnswN; IVF trains on the first ivfTrainN. */
  nb: number;
  nq: number;
  hnswN: number;
  hnswM: number;
  efConstruction: number;
  efSearch: number;
  ivfNlist: number;
  ivfTrainN: number;
  nprobe: number;
}

export interface SideConfig {
  shape: BenchShape;
  schedules: Record<IndexKind, SearchSchedule>;
  basePath: string;
  queryPath: string;
  /** Where the side writes its labels: `${labelsPrefix}<index>-<single|batch>[-off].i64`. */
  labelsPrefix: string;
  /** OpenMP threads on both sides; `fixThreads` also fixes the addon's (otherwise automatic: all cores for a lone call). */
  threads: number;
  fixThreads: boolean;
  /** Addon only: also time every search with its own kernels off; this round, off before on. */
  kernelsOff: boolean;
  /** The indexes this run measures (--only); the others are neither built nor searched. */
  only: IndexKind[];
  offFirst: boolean;
  /** The seed of this round's IVF k-means (Python's index.cp.seed; the addon's kmeansSeed): the same on both sides. */
  ivfSeed: number;
}

export interface SearchTimes {
  singleMs: number[];
  batchMs: number[];
  /** Python only, where threads > 1: the same single queries with omp_set_num_threads(1). */
  singleOneThreadMs?: number[];
}

export interface SideResult {
  faissVersion: string;
  /** What the side's FAISS was built for (the addon's isa; pip's loaded SIMD level). */
  build: string;
  threads: number;
  buildMs: { hnsw: number; ivf: number };
  /** The process's CPU time (user + system, every thread) over each build (the kernels-on one for the addon). */
  buildCpuMs?: { hnsw: number | null; ivf: number | null };
  /** The same builds with the addon's own kernels off (hnswBuild; flatBatch's IVF assignments), where it has any. */
  buildMsOff?: { hnsw: number; ivf: number };
  search: Record<IndexKind, SearchTimes>;
  /** The addon with its own kernels off (where it has any). */
  searchOff?: Record<IndexKind, SearchTimes>;
  /** The switches the addon had, as getKernels() gave them; absent where it has none. */
  kernels?: Record<string, boolean>;
}

export const labelsFile = (prefix: string, kind: IndexKind, what: 'single' | 'batch', off: boolean): string =>
  `${prefix}${kind}-${what}${off ? '-off' : ''}.i64`;

/**
 * Mean 10-recall@10 (k-recall@k): the share of the exact k nearest neighbours
 * found among the k returned, over the queries whose labels `found` holds (the
 * first found.length / k queries).
 */
export function recallAtK(found: BigInt64Array, exact: BigInt64Array, k: number): number {
  const queries = Math.floor(found.length / k);
  if (queries === 0) return NaN;
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const truth = new Set<bigint>(exact.subarray(q * k, (q + 1) * k));
    for (let j = 0; j < k; j++) if (truth.has(found[q * k + j])) hits++;
  }
  return hits / (queries * k);
}
