// The embedded API: FAISS in process, mirroring Python faiss in camelCase.
export {
  METRIC_BrayCurtis,
  METRIC_Canberra,
  METRIC_INNER_PRODUCT,
  METRIC_JensenShannon,
  METRIC_L1,
  METRIC_L2,
  METRIC_Linf,
  METRIC_Lp,
  ScalarQuantizer,
} from './constants';
export type { MetricType, QuantizerType } from './constants';
export { ErrorCodes, FaissError, isFaissError } from './errors';
export type { ErrorCode } from './errors';
export type { DeserializeIndexOptions, FaissApi, FaissBinaryApi, IndexBinaryContract, IndexContract } from './contract';
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
  IndexPreTransform,
  IndexRefineFlat,
  IndexScalarQuantizer,
  indexFactory,
} from './indexes';
export { ITQTransform, NormalizationTransform, OPQMatrix, PCAMatrix, RandomRotationMatrix, VectorTransform } from './transforms';
export { knn, normalizeL2, pairwiseDistances } from './distances';
export type { DistanceOptions } from './distances';
export { Kmeans } from './kmeans';
export { getNumGpus, gpuMemory, indexCpuToAllGpus, indexCpuToGpu, indexGpuToCpu } from './gpu';
export type { GpuMemory } from './gpu';
export { StandardGpuResources } from './gpu-resources';
export { GpuIndexFlat, GpuIndexFlatIP, GpuIndexFlatL2, GpuIndexIVFFlat, GpuIndexIVFPQ, GpuIndexIVFScalarQuantizer } from './gpu-indexes';
export type {
  GpuClonerOptions,
  GpuIndexConfig,
  GpuIndexFlatConfig,
  GpuIndexIVFConfig,
  GpuIndexIVFFlatConfig,
  GpuIndexIVFPQConfig,
  GpuIndexIVFScalarQuantizerConfig,
  GpuMultipleClonerOptions,
} from './gpu-options';
export type { ClusteringParameters, KmeansTrainOptions } from './kmeans';
export type { KmeansParameters } from './kmeans';
export type { BuildInfo } from './native';
export type { IterationStats } from './native';
export { deserializeIndex, readIndex, serializeIndex, writeIndex } from './io';
export { IndexBinary } from './binary-index';
export { IndexBinaryFlat, IndexBinaryHNSW, IndexBinaryIVF, indexBinaryFactory } from './binary-indexes';
export { deserializeIndexBinary, readIndexBinary, serializeIndexBinary, writeIndexBinary } from './binary-io';
export * from './selector-classes';
export { getKernels, kernelStats, setKernels } from './kernels';
export type { ReadIndexOptions } from './io';
export { buildInfo, externalMemory, getGraphAddThreads, getInlineSearchBudget, getMemoryLimits, getNumThreads, getSearchLanes, nativeHeap, poolStats, setGraphAddThreads, setInlineSearchBudget, setMemoryLimits, setNumThreads, setSearchLanes } from './threads';
export type { Kernels, KernelStats, MemoryLimits, NativeHeap, PoolStats, SearchLanes } from './native';
export type {
  BinaryCodes,
  BinaryRangeSearchResult,
  BinarySearchResult,
  DirectMapType,
  Ids,
  RangeSearchResult,
  SearchAndReconstructResult,
  SearchParams,
  SearchResult,
  Vectors,
} from './types';
export { openCollections } from './collections/embedded';
export type { EmbeddedCollections, OpenCollectionsOptions } from './collections/embedded';
export type {
  AliasInfo,
  Collection,
  CollectionInfo,
  CollectionMetric,
  CollectionSpec,
  CollectionsApi,
  Condition,
  FieldCondition,
  Filter,
  Hit,
  Payload,
  PayloadFieldType,
  PayloadValue,
  Point,
  PointInput,
  ReadOptions,
  ScrollOptions,
  SearchOptions,
  WriteOptions,
} from './collections/types';

import type { FaissApi, FaissBinaryApi } from './contract';
import type { Index } from './faiss-index';
import type { IndexBinary as BinaryIndexClass } from './binary-index';

// The compiler holds this module to the contract the remote client also meets
// (lib/contract.ts): a type error here names what differs.
type Meets<T extends FaissApi<Index> & FaissBinaryApi<BinaryIndexClass>> = T;
export type EmbeddedFaiss = Meets<typeof import('./index')>;
