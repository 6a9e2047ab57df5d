// The embedded API: FAISS in process, mirroring Python faiss in camelCase.
export { METRIC_INNER_PRODUCT, METRIC_L2, ScalarQuantizer } from './constants';
export type { MetricType, QuantizerType } from './constants';
export { ErrorCodes, FaissError, isFaissError } from './errors';
export type { ErrorCode } from './errors';
export { Index } from './faiss-index';
export {
  IndexFlat,
  IndexFlatIP,
  IndexFlatL2,
  IndexHNSWFlat,
  IndexIDMap,
  IndexIDMap2,
  IndexIVFFlat,
  IndexIVFPQ,
  IndexPQ,
  IndexScalarQuantizer,
  indexFactory,
} from './indexes';
export { deserializeIndex, readIndex, serializeIndex, writeIndex } from './io';
export { getKernels, setKernels } from './kernels';
export type { DeserializeIndexOptions, ReadIndexOptions } from './io';
export { buildInfo, externalMemory, getInlineSearchBudget, getMemoryLimits, getNumThreads, getSearchLanes, nativeHeap, poolStats, setInlineSearchBudget, setMemoryLimits, setNumThreads, setSearchLanes } from './threads';
export type { Kernels, MemoryLimits, NativeHeap, PoolStats, SearchLanes } from './native';
export type { DirectMapType, Ids, RangeSearchResult, SearchParams, SearchResult, Vectors } from './types';
