// Deterministic test data: the same seed gives the same vectors on every run.

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Vector `i` (d floats in [0, 1)) of a stateless family: a multiply-xorshift hash of i and then of each value
 * before, so a test can make row i anywhere, at any time, and two rows are far apart (each its own nearest).
 */
export function hashedVector(i: number, d: number): number[] {
  let h = (i + 1) * 2654435761;
  return Array.from({ length: d }, () => {
    h = Math.imul(h ^ (h >>> 15), 2246822519) >>> 0;
    return h / 2 ** 32;
  });
}

/** n x d uniform floats in [0, 1). */
export function randomVectors(n: number, d: number, seed = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = next();
  return out;
}

export function row(x: Float32Array, d: number, i: number): Float32Array {
  return x.subarray(i * d, (i + 1) * d);
}

/** Exact squared-L2 nearest neighbour of q among the rows of xb (brute force in JS). */
export function bruteForceNearest(xb: Float32Array, d: number, q: Float32Array): number {
  let best = -1;
  let bestDist = Infinity;
  for (let i = 0; i < xb.length / d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = xb[i * d + j] - q[j];
      s += diff * diff;
    }
    if (s < bestDist) {
      bestDist = s;
      best = i;
    }
  }
  return best;
}

/** The HNSW kernels' test data: uniform in [-1, 1), a mixture of 12 clusters, or integers 0..4 (exact distances, many ties). */
export type GraphPattern = 'uniform' | 'clustered' | 'integers';

/** n x d vectors of a GraphPattern (the HNSW search and build kernels' tests share them). */
export function graphVectors(pattern: GraphPattern, n: number, d: number, seed: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n * d);
  if (pattern === 'uniform') {
    for (let i = 0; i < x.length; i++) x[i] = next() * 2 - 1;
  } else if (pattern === 'clustered') {
    const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: d }, () => next() * 10 - 5));
    for (let i = 0; i < n; i++) {
      const c = centres[Math.floor(next() * centres.length)];
      for (let j = 0; j < d; j++) x[i * d + j] = c[j] + (next() + next() + next() - 1.5);
    }
  } else {
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(next() * 5);
  }
  return x;
}
