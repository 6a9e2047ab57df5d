/** Metric types, with FAISS's values (faiss.METRIC_INNER_PRODUCT == 0, faiss.METRIC_L2 == 1). */
export const METRIC_INNER_PRODUCT = 0;
export const METRIC_L2 = 1;
export type MetricType = typeof METRIC_INNER_PRODUCT | typeof METRIC_L2;

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
