// FAISS's index-free functions, as Python's faiss.knn, faiss.pairwise_distances
// and faiss.normalize_L2, run on the libuv pool.
import { isFloat32Array } from './brands';
import { METRIC_L2, METRIC_Lp, type MetricType } from './constants';
import { invalidParameterError, readArgument } from './is';
import { anyMetricArg, dimensionArg, kArg, metricArgValueArg, optionsArg } from './limits';
import { native } from './native';
import type { SearchResult, Vectors } from './types';
import { toMatrix } from './vectors';

// Both sets of vectors, of the same dimension: a Float32Array gives its
// dimension through the other argument's rows, so at least one must be rows
// (number[][]) or `d` must come from the caller.
function dimensionOf(xq: Vectors, xb: Vectors, d: number | undefined): number {
  if (d !== undefined) return dimensionArg(d);
  for (const [x, name] of [[xq, 'xq'], [xb, 'xb']] as const) {
    if (isFloat32Array(x)) continue;
    const n = readArgument(name, () => (Array.isArray(x) && x.length > 0 && x[0] !== null && typeof x[0] === 'object' ? x[0].length : undefined));
    if (typeof n === 'number') return dimensionArg(n);
  }
  throw invalidParameterError('d', 'the dimension (needed when xq and xb are both Float32Arrays)', d);
}

function lpArg(metric: MetricType, metricArg: number | undefined): number | undefined {
  if (metric !== METRIC_Lp) {
    if (metricArg !== undefined) throw invalidParameterError('metricArg', 'undefined (it is the p of METRIC_Lp only)', metricArg);
    return undefined;
  }
  return metricArgValueArg(metricArg);
}

// Each option read once, inside readArgument (a getter or a Proxy's trap may throw).
const distanceOptions = (options: unknown): DistanceOptions =>
  optionsArg(options, (o) => {
    for (const key of Object.keys(o)) {
      if (key !== 'd' && key !== 'metricArg') throw invalidParameterError('options', 'only the keys d and metricArg', key);
    }
    return { d: o.d as number | undefined, metricArg: o.metricArg as number | undefined };
  });

export interface DistanceOptions {
  /** The dimension; needed when xq and xb are both Float32Arrays. */
  d?: number;
  /** METRIC_Lp's p. */
  metricArg?: number;
}

/**
 * The k nearest neighbours of each row of xq among the rows of xb, exactly, as
 * faiss.knn (L2 or inner product there; here every FAISS metric).
 */
export async function knn(xq: Vectors, xb: Vectors, k: number, metric: MetricType = METRIC_L2, options: DistanceOptions = {}): Promise<SearchResult> {
  const o = distanceOptions(options);
  const d = dimensionOf(xq, xb, o.d);
  const m = anyMetricArg(metric);
  const p = lpArg(m, o.metricArg);
  const q = toMatrix(xq, d, 'xq');
  const b = toMatrix(xb, d, 'xb');
  kArg(k);
  return native.knn(q, b, d, k, m, p);
}

/** The nq x nb matrix of distances between the rows of xq and those of xb, row-major, as faiss.pairwise_distances. */
export async function pairwiseDistances(xq: Vectors, xb: Vectors, metric: MetricType = METRIC_L2, options: DistanceOptions = {}): Promise<Float32Array> {
  const o = distanceOptions(options);
  const d = dimensionOf(xq, xb, o.d);
  const m = anyMetricArg(metric);
  const p = lpArg(m, o.metricArg);
  return native.pairwiseDistances(toMatrix(xq, d, 'xq'), toMatrix(xb, d, 'xb'), d, m, p);
}

/**
 * Scales every row of x (rows of d) to unit L2 norm, in place, as
 * faiss.normalize_L2; rows of norm 0 stay as they are. Resolves when done:
 * do not read or write x before.
 */
export async function normalizeL2(x: Float32Array, d: number): Promise<void> {
  if (!isFloat32Array(x)) throw invalidParameterError('x', 'a Float32Array (normalised in place)', x);
  const dim = dimensionArg(d);
  return native.normalizeL2(toMatrix(x, dim), dim);
}
