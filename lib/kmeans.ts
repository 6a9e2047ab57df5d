// k-means as Python's faiss.Kmeans: FAISS's Clustering, trained on the libuv pool.
import { isFloat32Array } from './brands';
import { FaissError } from './errors';
import { Index } from './faiss-index';
import { wrapNative } from './indexes';
import { integerIn, invalidParameterError, isObject, readArgument } from './is';
import { dimensionArg } from './limits';
import { native, type IterationStats } from './native';
import type { SearchResult, Vectors } from './types';
import { toMatrix } from './vectors';

/** FAISS's ClusteringParameters, camelCased; each defaults to FAISS's value. */
export interface ClusteringParameters {
  /** Iterations (default 25). */
  niter?: number;
  /** Trainings from different random starts; the best is kept (default 1). */
  nredo?: number;
  /** FAISS prints its progress on stdout (default false). */
  verbose?: boolean;
  /** Normalised centroids, assignment by inner product (default false). */
  spherical?: boolean;
  /** Centroids rounded to integers (default false). */
  intCentroids?: boolean;
  /** Retrain the assignment index each iteration (default false). */
  updateIndex?: boolean;
  /** Keep the centroids given to train() as they are (default false). */
  frozenCentroids?: boolean;
  /** Below k * this many points FAISS warns on stderr (default 39). */
  minPointsPerCentroid?: number;
  /** Above k * this many points FAISS trains on a random sample of that size (default 256). */
  maxPointsPerCentroid?: number;
  /** The random seed (default 1234). */
  seed?: number;
}

export interface KmeansTrainOptions {
  /** One weight per training vector. */
  weights?: Float32Array;
  /** Up to k starting centroids (rows of d); with frozenCentroids they stay. */
  initCentroids?: Vectors;
}

const DEFAULTS: Readonly<KmeansParameters> = Object.freeze({
  niter: 25,
  nredo: 1,
  verbose: false,
  spherical: false,
  intCentroids: false,
  updateIndex: false,
  frozenCentroids: false,
  minPointsPerCentroid: 39,
  maxPointsPerCentroid: 256,
  seed: 1234,
});
/** Every clustering parameter of a Kmeans, as it trains with them (ClusteringParameters with FAISS's defaults filled in). */
export type KmeansParameters = Required<ClusteringParameters>;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function parametersArg(options: unknown): KmeansParameters {
  if (options === undefined) return { ...DEFAULTS };
  return readArgument('options', () => {
    if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
    const out: KmeansParameters = { ...DEFAULTS };
    for (const key of Object.keys(options)) {
      if (!Object.hasOwn(DEFAULTS, key)) {
        throw invalidParameterError('options', `only the keys ${Object.keys(DEFAULTS).join(', ')}`, key);
      }
    }
    for (const key of Object.keys(DEFAULTS) as (keyof KmeansParameters)[]) {
      const v = options[key];
      if (v === undefined) continue;
      if (typeof DEFAULTS[key] === 'boolean') {
        if (typeof v !== 'boolean') throw invalidParameterError(`options.${key}`, 'a boolean', v);
        (out as Record<string, unknown>)[key] = v;
      } else {
        const [min, max] =
          key === 'seed' ? [INT32_MIN, INT32_MAX] : key === 'nredo' ? [1, 2 ** 16] : key === 'niter' ? [0, 2 ** 20] : key === 'maxPointsPerCentroid' ? [1, 2 ** 30] : [0, 2 ** 30];
        (out as Record<string, unknown>)[key] = integerIn(v, `options.${key}`, min, max);
      }
    }
    return out;
  });
}

/**
 * k-means clustering of d-dimensional vectors into k centroids, as
 * faiss.Kmeans(d, k, **params). After train(): centroids (k x d), obj (the
 * objective at each iteration), iterationStats, and index, an IndexFlatL2
 * (IndexFlatIP when spherical) holding the centroids, for assignment.
 */
export class Kmeans {
  readonly d: number;
  readonly k: number;
  readonly params: Readonly<KmeansParameters>;
  #centroids: Float32Array | undefined;
  #obj: Float64Array | undefined;
  #stats: IterationStats[] | undefined;
  #index: Index | undefined;
  #training = false;

  constructor(d: number, k: number, params?: ClusteringParameters) {
    this.d = dimensionArg(d);
    this.k = integerIn(k, 'k', 1, INT32_MAX);
    this.params = Object.freeze(parametersArg(params));
  }

  /** k x d, row-major; undefined before train(). */
  get centroids(): Float32Array | undefined {
    return this.#centroids;
  }
  /** The objective (sum of the distances to the assigned centroids) after each iteration, as Python's kmeans.obj. */
  get obj(): Float64Array | undefined {
    return this.#obj;
  }
  get iterationStats(): readonly IterationStats[] | undefined {
    return this.#stats;
  }
  /** An index over the centroids (a new one at each train()); undefined before train(). */
  get index(): Index | undefined {
    return this.#index;
  }

  /**
   * Clusters x (at least k rows of d) and resolves with the last objective, as
   * Python's train(). A second train() while one runs is ERR_BUSY.
   */
  async train(x: Vectors, options: KmeansTrainOptions = {}): Promise<number> {
    if (this.#training) throw new FaissError('This Kmeans is already training; await that train() first', 'ERR_BUSY');
    const rows = toMatrix(x, this.d);
    const n = rows.length / this.d;
    if (n < this.k) {
      throw new FaissError(`k-means needs at least k (${this.k}) training vectors but x holds ${n}`, 'ERR_INVALID_ARGUMENT');
    }
    const { weights, initCentroids } = readArgument('options', () => {
      if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
      return { weights: options.weights, initCentroids: options.initCentroids as Vectors | undefined };
    });
    if (weights !== undefined && (!isFloat32Array(weights) || weights.length !== n)) {
      throw invalidParameterError('options.weights', `a Float32Array of ${n} weights (one per training vector)`, weights);
    }
    const init = initCentroids === undefined ? undefined : toMatrix(initCentroids, this.d, 'initCentroids');
    const p = this.params;
    this.#training = true;
    try {
      const r = await native.kmeansTrain(
        rows, this.d, this.k, p.niter, p.nredo, p.verbose, p.spherical, p.intCentroids, p.updateIndex,
        p.frozenCentroids, p.minPointsPerCentroid, p.maxPointsPerCentroid, p.seed, weights, init,
      );
      this.#centroids = r.centroids;
      this.#obj = r.obj;
      this.#stats = r.iterationStats;
      this.#index = wrapNative(r.index);
      return r.obj.length > 0 ? r.obj[r.obj.length - 1] : 0;
    } finally {
      this.#training = false;
    }
  }

  /** The nearest centroid of each row of x: distances and labels (nq each), as Python's kmeans.assign(x). */
  async assign(x: Vectors): Promise<SearchResult> {
    if (!this.#index) throw new FaissError('Kmeans.assign: train() first', 'ERR_NOT_TRAINED');
    return this.#index.search(x, 1);
  }
}
