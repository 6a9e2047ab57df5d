/** Metric types, with FAISS's values (faiss.METRIC_INNER_PRODUCT == 0, faiss.METRIC_L2 == 1, ...). */
export const METRIC_INNER_PRODUCT = 0;
export const METRIC_L2 = 1;
/** The metrics below work with flat and HNSW-flat indexes (and knn / pairwiseDistances) only. */
export const METRIC_L1 = 2;
export const METRIC_Linf = 3;
/** L_p: sum of |x_i - y_i|^p, with p the index's metricArg. */
export const METRIC_Lp = 4;
export const METRIC_Canberra = 20;
export const METRIC_BrayCurtis = 21;
export const METRIC_JensenShannon = 22;
export type MetricType =
  | typeof METRIC_INNER_PRODUCT
  | typeof METRIC_L2
  | typeof METRIC_L1
  | typeof METRIC_Linf
  | typeof METRIC_Lp
  | typeof METRIC_Canberra
  | typeof METRIC_BrayCurtis
  | typeof METRIC_JensenShannon;

/** Each metric's constant name, by value. */
export const METRIC_NAMES: Readonly<Record<MetricType, string>> = Object.freeze({
  [METRIC_INNER_PRODUCT]: 'METRIC_INNER_PRODUCT',
  [METRIC_L2]: 'METRIC_L2',
  [METRIC_L1]: 'METRIC_L1',
  [METRIC_Linf]: 'METRIC_Linf',
  [METRIC_Lp]: 'METRIC_Lp',
  [METRIC_Canberra]: 'METRIC_Canberra',
  [METRIC_BrayCurtis]: 'METRIC_BrayCurtis',
  [METRIC_JensenShannon]: 'METRIC_JensenShannon',
});

/**
 * The name the HTTP API (and the service's JSON) gives each metric: the
 * constant's name without METRIC_ ("L2", "L1", "Canberra", ...), "IP" for inner
 * product.
 */
export const metricNameOf = (m: MetricType): string => (m === METRIC_INNER_PRODUCT ? 'IP' : METRIC_NAMES[m].slice('METRIC_'.length));

/** The metric an HTTP name ("L2", "IP", "L1", ...) stands for, or undefined. */
export function metricOfName(name: unknown): MetricType | undefined {
  return (Object.keys(METRIC_NAMES).map(Number) as MetricType[]).find((m) => metricNameOf(m) === name);
}

/** Scalar quantizer types, as faiss.ScalarQuantizer.QT_* in Python. */
export const ScalarQuantizer = {
  QT_8bit: 0,
  QT_4bit: 1,
  QT_8bit_uniform: 2,
  QT_4bit_uniform: 3,
  QT_fp16: 4,
  QT_8bit_direct: 5,
  QT_6bit: 6,
} as const;
export type QuantizerType = (typeof ScalarQuantizer)[keyof typeof ScalarQuantizer];
