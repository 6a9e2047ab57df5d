// Clustered vectors for npm run bench:faiss: a seeded Gaussian mixture. Uniform noise
// has no structure for an IVF partition or an HNSW graph to find (every query's
// neighbours are nearly as far as everything else), so it says little about how
// those indexes behave on real embeddings; a mixture does.

import { rng as uniform01 } from '../../test/support/data';

/** Bumped whenever what gaussianMixture() draws changes (bench:faiss caches exact neighbours by it). */
export const MIXTURE_VERSION = 1;

/** Standard normal deviates (Box-Muller, both of each pair used). */
function normalStream(seed: number): () => number {
  const uniform = uniform01(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = 1 - uniform(); // (0, 1]: log(0) never happens
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

export interface Mixture {
  d: number;
  /** Number of clusters. */
  clusters: number;
  /** Seed of the centres and spreads: base and queries drawn from one mixture share it. */
  seed: number;
}

/** What a mixture is made of: centres ~ N(0, 1) per coordinate, each cluster's spread in [0.5, 1). */
function components(m: Mixture): { centres: Float32Array; spreads: Float32Array } {
  const normal = normalStream(m.seed);
  const uniform = uniform01(m.seed ^ 0x5bd1e995);
  const centres = new Float32Array(m.clusters * m.d);
  for (let i = 0; i < centres.length; i++) centres[i] = normal();
  const spreads = new Float32Array(m.clusters);
  for (let c = 0; c < m.clusters; c++) spreads[c] = 0.5 + 0.5 * uniform();
  return { centres, spreads };
}

/**
 * rows x d vectors: each picks a cluster uniformly at random and adds isotropic
 * Gaussian noise of that cluster's spread to its centre. Different `seed`s give
 * different draws (base, queries) from the same mixture.
 */
export function gaussianMixture(m: Mixture, rows: number, seed: number): Float32Array {
  const { centres, spreads } = components(m);
  const normal = normalStream(seed);
  const uniform = uniform01(seed ^ 0x27d4eb2f);
  const out = new Float32Array(rows * m.d);
  for (let r = 0; r < rows; r++) {
    const c = Math.min(m.clusters - 1, Math.floor(uniform() * m.clusters));
    const spread = spreads[c];
    for (let j = 0; j < m.d; j++) out[r * m.d + j] = centres[c * m.d + j] + spread * normal();
  }
  return out;
}
