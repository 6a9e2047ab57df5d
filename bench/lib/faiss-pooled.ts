// What one side of npm run bench:faiss measured, pooled over the rounds, and the
// figure of each row (bench/faiss.ts prints them).
import * as fs from 'node:fs';
import { readI64 } from './common';
import { INDEXES, labelsFile, recallAtK, type IndexKind, type Row, type SideResult } from './faiss-rows';

/** Everything one side measured, pooled over the rounds. */
export interface Pooled {
  results: SideResult[];
  singleMs: Record<IndexKind, number[]>;
  singleOneThreadMs: Record<IndexKind, number[]>;
  batchMs: Record<IndexKind, number[]>;
  buildMs: Record<'hnsw' | 'ivf', number[]>;
  /** Mean recall per round, per index and search kind. */
  recall: Record<IndexKind, { single: number[]; batch: number[] }>;
}
export const emptyPooled = (): Pooled => ({
  results: [],
  singleMs: { flat: [], hnsw: [], ivf: [] },
  singleOneThreadMs: { flat: [], hnsw: [], ivf: [] },
  batchMs: { flat: [], hnsw: [], ivf: [] },
  buildMs: { hnsw: [], ivf: [] },
  recall: { flat: { single: [], batch: [] }, hnsw: { single: [], batch: [] }, ivf: { single: [], batch: [] } },
});

/** Reads back the labels a side wrote this round and records its recall. */
export function recordRecall(pool: Pooled, prefix: string, exact: Record<IndexKind, BigInt64Array>, k: number, off: boolean): void {
  for (const kind of INDEXES) {
    for (const what of ['single', 'batch'] as const) {
      const file = labelsFile(prefix, kind, what, off);
      if (!fs.existsSync(file)) continue;
      pool.recall[kind][what].push(recallAtK(readI64(file), exact[kind], k));
      fs.rmSync(file);
    }
  }
}

export function addRound(pool: Pooled, r: SideResult, search: SideResult['search'], buildMs: SideResult['buildMs'] | undefined): void {
  pool.results.push(r);
  for (const kind of INDEXES) {
    pool.singleMs[kind].push(...search[kind].singleMs);
    pool.singleOneThreadMs[kind].push(...(search[kind].singleOneThreadMs ?? []));
    pool.batchMs[kind].push(...search[kind].batchMs);
  }
  // null (JSON's NaN): the index was left out (--only).
  for (const kind of ['hnsw', 'ivf'] as const) if (typeof buildMs?.[kind] === 'number') pool.buildMs[kind].push(buildMs[kind]);
}

/** The middle sample, or the mean of the two middle ones (a build has one sample per round). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** A row's figure for one side: median time (ms), its sample count, and the mean recall (NaN for builds). */
export function figure(pool: Pooled, row: Row): { ms: number; samples: number; recall: number } {
  if (row.what === 'build') {
    const xs = pool.buildMs[row.kind as 'hnsw' | 'ivf'];
    return { ms: median(xs), samples: xs.length, recall: NaN };
  }
  const xs = row.what === 'single' ? pool.singleMs[row.kind] : pool.batchMs[row.kind];
  return { ms: median(xs), samples: xs.length, recall: mean(pool.recall[row.kind][row.what]) };
}
