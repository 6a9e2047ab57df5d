// bench:faiss's recall comparison, as a measurement rather than one sample: each
// round builds each index anew on both sides (HNSW: another graph, since a
// multi-threaded build inserts in another order each time; IVF: the same k-means
// seed on both sides, a new one each round), so a round gives one recall per
// side, paired with the other side's of the same round. The verdict is on the
// mean paired difference (ours - theirs) against its standard error.

/** How far below zero the mean difference may lie, in standard errors, and still read "not lower". */
export const NOT_LOWER_SE = 2;

export interface PairedRecall {
  /** Paired samples (rounds in which both sides have a recall). */
  n: number;
  meanOurs: number;
  meanTheirs: number;
  /** Mean of ours - theirs, round by round. */
  meanDiff: number;
  /** Standard error of meanDiff: the differences' sample standard deviation / sqrt(n); NaN below 2 samples. */
  seDiff: number;
  /**
   * 'not lower': meanDiff >= -NOT_LOWER_SE x seDiff (with seDiff 0: meanDiff >= 0); 'lower': below that;
   * 'too few': fewer than 2 pairs (no standard error to judge by).
   */
  verdict: 'not lower' | 'lower' | 'too few';
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The paired comparison of two sides' per-round recalls (index i of each: round i); NaNs (no sample) are skipped. */
export function pairedRecall(ours: number[], theirs: number[]): PairedRecall {
  const pairs: [number, number][] = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i])) pairs.push([ours[i], theirs[i]]);
  }
  const n = pairs.length;
  if (n === 0) return { n, meanOurs: NaN, meanTheirs: NaN, meanDiff: NaN, seDiff: NaN, verdict: 'too few' };
  const diffs = pairs.map(([a, b]) => a - b);
  const meanDiff = mean(diffs);
  const seDiff = n < 2 ? NaN : Math.sqrt(diffs.reduce((s, x) => s + (x - meanDiff) ** 2, 0) / (n - 1) / n);
  const verdict = n < 2 ? 'too few' : meanDiff >= -NOT_LOWER_SE * seDiff ? 'not lower' : 'lower';
  return { n, meanOurs: mean(pairs.map((p) => p[0])), meanTheirs: mean(pairs.map((p) => p[1])), meanDiff, seDiff, verdict };
}
