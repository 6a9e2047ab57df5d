// The in-process cases of bench/harness.ts: which index each one builds, and how.
// One case = (index kind, n, d). Both sides build it from the same float32 file:
// the binding in a child Node process (bench/lib/case-worker.ts), python3-faiss in
// bench/harness_python.py; each times the build and the same searches.
import type { SearchSchedule } from './common';

export const KINDS = ['Flat', 'IVFFlat', 'IVFPQ', 'HNSW32'] as const;
export type Kind = (typeof KINDS)[number];

export interface CaseConfig {
  kind: Kind;
  n: number;
  d: number;
  nq: number;
  k: number;
  basePath: string;
  queryPath: string;
  /** IVF: lists, training rows (a prefix of the base), lists searched. */
  nlist: number;
  ntrain: number;
  nprobe: number;
  /** IVFPQ: sub-quantizers of 8 bits. */
  pqM: number;
  efConstruction: number;
  efSearch: number;
  hnswChunk: number;
  /** Build-time budget of one side, in seconds. */
  budgetS: number;
  threads: number;
  schedule: SearchSchedule;
}

/** IVF lists: 1024 at 100k (as asked), fewer for smaller sets, 4096 at 1M. */
export const nlistFor = (n: number): number => (n <= 10_000 ? 100 : n <= 100_000 ? 1024 : 4096);
/** Training rows: 40 per list, just above FAISS's 39-per-centroid warning, at most n. */
export const ntrainFor = (n: number): number => Math.min(n, 40 * nlistFor(n));
/** PQ sub-quantizers of 8 bits: 16 x 8 dims at d=128, 48 x 16 dims at d=768. */
export const pqMFor = (d: number): number => (d % 8 === 0 ? Math.min(d / 8, 48) : 1);

export function label(c: Pick<CaseConfig, 'kind' | 'n' | 'd'>): string {
  const n = c.n >= 1e6 ? `${c.n / 1e6}M` : `${c.n / 1e3}k`;
  const kind =
    c.kind === 'IVFFlat' ? `IVF${nlistFor(c.n)},Flat` : c.kind === 'IVFPQ' ? `IVF${nlistFor(c.n)},PQ${pqMFor(c.d)}` : c.kind === 'Flat' ? 'Flat' : 'HNSW32';
  return `${kind} ${n}x${c.d}`;
}

/** What one side reports for a case. */
export type SideResult =
  | {
      status: 'ok';
      buildS: number;
      trainS: number | null;
      singleMs: number[];
      batchMs: number[];
      ntotal: number;
      threads: number;
      faissVersion?: string;
      defaultThreads?: number;
    }
  | { status: 'skipped'; reason: string; projectedS?: number; elapsedS?: number }
  | { status: 'error'; reason: string };
