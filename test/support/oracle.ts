// Runs Debian's python3-faiss on the same inputs (test/support/oracle.py), and
// compares answers the way two FAISS builds can be compared: the addon's FAISS is
// compiled for this CPU (FMA, vector sums), Debian's for the x86-64 baseline, so
// float32 results differ in the last bits, and where two candidates are that close
// (a tie) the two builds may order or choose them differently.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';

export function runOracle(workdir: string): void {
  const script = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'oracle.py');
  execFileSync(PYTHON, [script, workdir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

/** Filtered searches by python3-faiss on the index files JS wrote (test/support/filtered_oracle.py). */
export function runFilteredOracle(workdir: string): void {
  const script = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'filtered_oracle.py');
  execFileSync(PYTHON, [script, workdir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

/** Distances this close (relative for values above 1) are the same distance. */
export const TIE_TOLERANCE = 1e-5;

const close = (x: number, y: number, tol = TIE_TOLERANCE): boolean =>
  x === y || Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y)); // x === y: matching infinities

/** Labels must match exactly; distances within 1e-5 (relative for values above 1). */
export function closeTo(a: ArrayLike<number>, b: ArrayLike<number>, tol = TIE_TOLERANCE): string | null {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!close(a[i], b[i], tol)) return `index ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}

export interface KnnAnswer {
  distances: ArrayLike<number>;
  /** As numbers (Number(bigint) for the addon's BigInt64Array). */
  labels: ArrayLike<number>;
}

/**
 * Whether two k-NN answers (nq x k, row-major) are FAISS's same answer: at every rank
 * the same distance, and the same labels, except that labels at the same distance
 * (a tie) may come in another order, and the last tied run of a row may hold other
 * labels (the tie continues past k). `tol`: how close two distances must be to
 * be the same (TIE_TOLERANCE unless the index's own arithmetic is coarser).
 * Returns what differs, or null.
 */
export function sameKnn(got: KnnAnswer, want: KnnAnswer, k: number, tol = TIE_TOLERANCE): string | null {
  const distances = closeTo(got.distances, want.distances, tol);
  if (distances) return `distances differ (${distances})`;
  if (got.labels.length !== want.labels.length) return `label counts differ: ${got.labels.length} vs ${want.labels.length}`;
  for (let row = 0; row * k < want.labels.length; row++) {
    for (let start = row * k, end = start; start < (row + 1) * k; start = end) {
      while (end < (row + 1) * k && close(want.distances[end], want.distances[start], tol)) end++;
      const a = Array.from({ length: end - start }, (_, i) => got.labels[start + i]).sort((x, y) => x - y);
      const b = Array.from({ length: end - start }, (_, i) => want.labels[start + i]).sort((x, y) => x - y);
      // The last run may continue past k, where each build kept other labels of it.
      const lastRun = end === (row + 1) * k;
      if (!lastRun && a.join() !== b.join()) {
        return `query ${row}, ranks ${start - row * k}..${end - 1 - row * k}: labels ${a} vs ${b}`;
      }
    }
  }
  return null;
}

export interface RangeAnswer {
  lims: ArrayLike<number>;
  distances: ArrayLike<number>;
  labels: ArrayLike<number>;
}

/**
 * Whether two range-search answers are FAISS's same answer: per query the same
 * results in the same order (FAISS's order depends only on the index) at the same
 * distances, leaving out those at the radius itself (a tie with the radius: one
 * build may keep what the other drops). With sortLabels, the order within a query
 * is not compared. Returns what differs, or null.
 */
export function sameRange(got: RangeAnswer, want: RangeAnswer, radius: number, sortLabels = false): string | null {
  if (got.lims.length !== want.lims.length) return `query counts differ: ${got.lims.length - 1} vs ${want.lims.length - 1}`;
  const clear = (r: RangeAnswer, q: number): [number, number][] => {
    const out: [number, number][] = [];
    for (let j = Number(r.lims[q]); j < Number(r.lims[q + 1]); j++) {
      if (!close(r.distances[j], radius)) out.push([Number(r.labels[j]), r.distances[j]]);
    }
    return sortLabels ? out.sort((x, y) => x[0] - y[0]) : out;
  };
  for (let q = 0; q + 1 < want.lims.length; q++) {
    const a = clear(got, q);
    const b = clear(want, q);
    if (a.length !== b.length) return `query ${q}: ${a.length} vs ${b.length} results away from the radius`;
    for (let j = 0; j < a.length; j++) {
      if (a[j][0] !== b[j][0]) return `query ${q}, result ${j}: label ${a[j][0]} vs ${b[j][0]}`;
      if (!close(a[j][1], b[j][1])) return `query ${q}, result ${j}: distance ${a[j][1]} vs ${b[j][1]}`;
    }
  }
  return null;
}
