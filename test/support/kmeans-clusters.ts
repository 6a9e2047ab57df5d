// Training data on which two FAISS builds (the addon's, for this CPU, and Debian's
// python3-faiss, generic) run the same k-means: well-separated clusters of small
// integers, whose sums are exact, so both make the same assignments and the same
// means and only the seed decides which points start as centroids and which are
// sampled (test/embedded/kmeans-seed, test/service/kmeans-seed-http).
import { rng } from './data';

/** The dimension of clusterVectors' rows. */
export const CLUSTER_D = 8;

/**
 * n points around 12 centres of integer coordinates 0 .. 63 (not on a grid,
 * where a symmetric layout would put points at exactly equal distances of two
 * centroids, which two builds may break differently), each coordinate off by 0 .. 2.
 * Small: squared norms far below 2^24, so the distances' rounding (~0.01) stays
 * far below the gaps between the candidates of any point.
 */
export function clusterVectors(n: number, seed: number): Float32Array {
  const d = CLUSTER_D;
  const next = rng(seed);
  const centres = Array.from({ length: 12 }, () => Array.from({ length: d }, () => Math.floor(next() * 64)));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[i % centres.length];
    for (let j = 0; j < d; j++) x[i * d + j] = c[j] + Math.floor(next() * 3);
  }
  return x;
}

/** Binary codes of `bits` from the same clusters: bit j of a code is set where coordinate j % d's centre is at least 32, 5% of the bits flipped. */
export function clusterCodes(x: Float32Array, bits: number): Uint8Array {
  const d = CLUSTER_D;
  const n = x.length / d;
  const out = new Uint8Array(n * (bits / 8));
  const next = rng(99);
  for (let i = 0; i < n; i++)
    for (let b = 0; b < bits; b++) {
      const on = x[i * d + (b % d)] >= 32 !== next() < 0.05;
      if (on) out[i * (bits / 8) + (b >> 3)] |= 1 << (b & 7);
    }
  return out;
}
