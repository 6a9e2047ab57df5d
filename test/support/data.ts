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
