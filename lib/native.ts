// Loads the compiled addon and describes its raw interface. Only this file knows
// where the binary lives; everything else imports from here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertCpuRunsAddon } from './addon-cpu';
import { FaissError } from './errors';
import type { BinaryRangeSearchResult, BinarySearchResult, RangeSearchResult, SearchResult } from './types';

/** What the addon's wrappers of both kinds have (native/wrap_base.h). */
export interface NativeIndexCommon {
  readonly d: number;
  readonly ntotal: number;
  readonly isTrained: boolean;
  readonly typeName: string;
  readonly bytes: number;
  readonly version: number;
  readonly disposed: boolean;
  nprobe: number | undefined;
  efSearch: number | undefined;
  efConstruction: number | undefined;
  kmeansSeed: number | undefined;
  /** An IVF's number of inverted lists (read-only; undefined elsewhere, and on a GPU IVF). Internal: the collections' planner. */
  readonly nlist: number | undefined;
  reset(): Promise<void>;
  serialize(): Promise<Buffer>;
  writeFile(path: string): Promise<void>;
  dispose(): void;
}

/** The addon's wrapper of a faiss::Index (native/index.h). */
export interface NativeIndex extends NativeIndexCommon {
  readonly metricType: number;
  readonly batchable: boolean;
  readonly filterable: boolean;
  /** The GPU the index is on (its first, for one over several); undefined on the CPU. */
  readonly device: number | undefined;
  train(x: Float32Array): Promise<void>;
  add(x: Float32Array, ids?: BigInt64Array): Promise<void>;
  search(x: Float32Array, k: number, nprobe?: number, efSearch?: number, sel?: NativeSelector): Promise<SearchResult>;
  /** Runs the search on this thread and returns its result, or undefined if it is not cheap enough to (or filtered). */
  searchInline(x: Float32Array, k: number, nprobe?: number, efSearch?: number, sel?: NativeSelector): SearchResult | undefined;
  rangeSearch(x: Float32Array, radius: number, nprobe?: number, efSearch?: number, sel?: NativeSelector): Promise<RangeSearchResult>;
  removeIds(ids: BigInt64Array | NativeSelector): Promise<number>;
  reconstruct(id: number | bigint): Promise<Float32Array>;
  reconstructN(i0: number, n: number): Promise<Float32Array>;
  mergeFrom(other: NativeIndex, addId?: number): Promise<void>;
  makeDirectMap(type?: string): Promise<void>;
  extractAll(): Promise<{ ids: BigInt64Array; vectors: Float32Array }>;
  /** METRIC_Lp's p; 0 on other metrics, where setting it throws ERR_UNSUPPORTED. */
  metricArg: number;
  /** IndexRefine's k_factor; undefined elsewhere. */
  kFactor: number | undefined;
  searchAndReconstruct(x: Float32Array, k: number, nprobe?: number, efSearch?: number): Promise<SearchResult & { vectors: Float32Array }>;
  /** The exact k nearest among the stored vectors of `labels` (increasing, distinct). */
  searchSubset(x: Float32Array, k: number, labels: BigInt64Array): Promise<SearchResult>;
  searchSubsetInline(x: Float32Array, k: number, labels: BigInt64Array): SearchResult | undefined;
}

/** The addon's wrapper of a faiss::IndexBinary (native/binary_index.h). */
export interface NativeBinaryIndex extends NativeIndexCommon {
  readonly codeSize: number;
  train(x: Uint8Array): Promise<void>;
  add(x: Uint8Array, ids?: BigInt64Array): Promise<void>;
  search(x: Uint8Array, k: number, nprobe?: number, efSearch?: number): Promise<BinarySearchResult>;
  rangeSearch(x: Uint8Array, radius: number, nprobe?: number, efSearch?: number): Promise<BinaryRangeSearchResult>;
  removeIds(ids: BigInt64Array): Promise<number>;
  reconstruct(id: number | bigint): Promise<Uint8Array>;
}

/** FAISS's selector built from an IDSelector (lib/native-selectors.ts); opaque to JS. */
export interface NativeSelector {
  readonly __nativeSelector: never;
}

/** A payload field's value per label, in memory the addon owns (native/value_column.h); `values` is a view of it. */
export interface NativeValueColumn {
  readonly values: Float64Array;
}

/** A faiss::VectorTransform (native/transform.h). */
export interface NativeTransform {
  readonly dIn: number;
  readonly dOut: number;
  readonly isTrained: boolean;
  readonly typeName: string;
  readonly disposed: boolean;
  train(x: Float32Array): Promise<void>;
  apply(x: Float32Array): Promise<Float32Array>;
  reverseTransform(x: Float32Array): Promise<Float32Array>;
  init(seed: number): Promise<void>;
  dispose(): void;
}

/** What one k-means training gives (native/kmeans.h). */
export interface KmeansResult {
  centroids: Float32Array;
  obj: Float64Array;
  iterationStats: IterationStats[];
  index: NativeIndex;
}

/** FAISS's ClusteringIterationStats. */
export interface IterationStats {
  obj: number;
  time: number;
  timeSearch: number;
  imbalanceFactor: number;
  nsplit: number;
}

export interface NativeAddon {
  NativeIndex: new (...args: never[]) => NativeIndex;
  /** Whether v is an index the addon built (a type tag: runs none of v's code). */
  isNativeIndex(v: unknown): v is NativeIndex;
  newFlat(d: number, metric: number): NativeIndex;
  newIVFFlat(quantizer: NativeIndex, d: number, nlist: number, metric: number): NativeIndex;
  newIVFPQ(quantizer: NativeIndex, d: number, nlist: number, m: number, nbits: number, metric: number): NativeIndex;
  newHNSWFlat(d: number, m: number, metric: number): NativeIndex;
  newPQ(d: number, m: number, nbits: number, metric: number): NativeIndex;
  newScalarQuantizer(d: number, qtype: number, metric: number): NativeIndex;
  newIDMap(index: NativeIndex): NativeIndex;
  newIDMap2(index: NativeIndex): NativeIndex;
  indexFactory(d: number, description: string, metric: number): NativeIndex;
  newPreTransform(transforms: NativeTransform[], index: NativeIndex): NativeIndex;
  newRefineFlat(base: NativeIndex): NativeIndex;
  /** Whether v is a transform the addon built (a type tag). */
  isNativeTransform(v: unknown): v is NativeTransform;
  newPCAMatrix(dIn: number, dOut: number, eigenPower: number, randomRotation: boolean): NativeTransform;
  newOPQMatrix(d: number, M: number, d2?: number): NativeTransform;
  newITQTransform(dIn: number, dOut: number, doPca: boolean): NativeTransform;
  newRandomRotationMatrix(dIn: number, dOut: number): NativeTransform;
  newNormalizationTransform(d: number, norm: number): NativeTransform;
  knn(xq: Float32Array, xb: Float32Array, d: number, k: number, metric: number, metricArg?: number): Promise<SearchResult>;
  pairwiseDistances(xq: Float32Array, xb: Float32Array, d: number, metric: number, metricArg?: number): Promise<Float32Array>;
  normalizeL2(x: Float32Array, d: number): Promise<void>;
  kmeansTrain(
    x: Float32Array,
    d: number,
    k: number,
    niter: number,
    nredo: number,
    verbose: boolean,
    spherical: boolean,
    intCentroids: boolean,
    updateIndex: boolean,
    frozenCentroids: boolean,
    minPointsPerCentroid: number,
    maxPointsPerCentroid: number,
    seed: number,
    weights?: Float32Array,
    initCentroids?: Float32Array,
  ): Promise<KmeansResult>;
  deserializeIndex(buffer: Uint8Array | ArrayBuffer, trusted: boolean): Promise<NativeIndex>;
  readIndex(path: string, mmap: boolean, trusted: boolean): Promise<NativeIndex>;
  NativeBinaryIndex: new (...args: never[]) => NativeBinaryIndex;
  isNativeBinaryIndex(v: unknown): v is NativeBinaryIndex;
  newBinaryFlat(d: number): NativeBinaryIndex;
  newBinaryIVF(quantizer: NativeBinaryIndex, d: number, nlist: number): NativeBinaryIndex;
  newBinaryHNSW(d: number, m: number): NativeBinaryIndex;
  indexBinaryFactory(d: number, description: string): NativeBinaryIndex;
  deserializeIndexBinary(buffer: Uint8Array | ArrayBuffer, trusted: boolean): Promise<NativeBinaryIndex>;
  readIndexBinary(path: string, trusted: boolean): Promise<NativeBinaryIndex>;
  setErrorClass(ctor: typeof FaissError): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setGraphAddThreads(n: number): void;
  getGraphAddThreads(): number;
  setMemoryLimits(perCallBytes: number): void;
  getMemoryLimits(): MemoryLimits;
  setInlineSearchBudget(microseconds: number): void;
  getInlineSearchBudget(): number;
  externalMemory(): number;
  nativeHeap(): NativeHeap | null;
  setSearchLanes(threads: number, spinMicroseconds: number): void;
  getSearchLanes(): SearchLanes;
  poolStats(): PoolStats;
  setKernel(name: string, on: boolean): void;
  getKernels(): Kernels;
  kernelStats(): KernelStats;
  buildInfo(): BuildInfo;
  newSelector(kind: 'batch' | 'array', ids: BigInt64Array): NativeSelector;
  newSelector(kind: 'range', min: bigint, max: bigint): NativeSelector;
  newSelector(kind: 'bitmap', bits: Uint8Array): NativeSelector;
  newSelector(kind: 'valueRange', column: NativeValueColumn, gt: number, gte: number, lt: number, lte: number): NativeSelector;
  newSelector(kind: 'not', sel: NativeSelector): NativeSelector;
  newSelector(kind: 'and' | 'or' | 'xor', a: NativeSelector, b: NativeSelector): NativeSelector;
  isNativeSelector(v: unknown): v is NativeSelector;
  /** `length` NaNs, for the labels base to base + length - 1. */
  newValueColumn(base: number, length: number): NativeValueColumn;
}

/** Which of the addon's own search kernels run (lib/kernels.ts). */
export interface Kernels {
  /** One flat query (up to 19) split across the cores: native/kernels/flat_scan.h. */
  flatScan: boolean;
  /** IndexHNSWFlat built (add) by the addon's own code, FAISS's graph: native/kernels/hnsw_build.h. */
  hnswBuild: boolean;
  /** IndexHNSWFlat searched by the addon's own code, with FAISS's answers: native/kernels/hnsw_search.h. */
  hnswSearch: boolean;
  /** IVFFlat batches scanned list by list, each list once for the queries probing it: native/kernels/ivf_scan.h. */
  ivfScan: boolean;
  /** Flat batches (20 or more queries) in one pass, products in registers, FAISS's batch answers: native/kernels/flat_batch.h. */
  flatBatch: boolean;
}

/**
 * What each of the addon's own kernels did since the process started
 * (lib/kernels.ts kernelStats; native/kernels/stats.h): the searches it
 * answered (hnswBuild: the adds), and those of its own kind it left to FAISS, by reason.
 */
export interface KernelStats {
  flatScan: { searches: number; fallbacks: { metric: number; largeK: number } };
  hnswSearch: { searches: number; fallbacks: { metric: number; settings: number } };
  ivfScan: { searches: number; fallbacks: { metric: number; settings: number; distances: number; smallBatch: number } };
  flatBatch: {
    searches: number;
    fallbacks: { metric: number; settings: number; largeK: number; indexSize: number; probeFailed: number; overflow: number };
  };
  hnswBuild: { adds: number; fallbacks: { metric: number; settings: number } };
}

/**
 * Where the addon is looked for: $FAISS_PROXY_ADDON, then the cmake-js build
 * (the primary one), then its GPU build (npm run build:native-gpu), then the
 * node-gyp build of the same sources.
 */
export function addonCandidates(): string[] {
  const root = path.resolve(__dirname, '..', '..');
  const fromEnv = process.env.FAISS_PROXY_ADDON;
  return [
    ...(fromEnv ? [fromEnv] : []),
    path.join(root, 'build-cmake', 'Release', 'faiss_node.node'),
    path.join(root, 'build-cmake-gpu', 'Release', 'faiss_node.node'),
    path.join(root, 'build', 'Release', 'faiss_node.node'),
  ];
}

function load(): NativeAddon {
  const found = addonCandidates().find((p) => fs.existsSync(p));
  if (!found) {
    throw new FaissError(
      `The faiss-proxy native addon is not built (looked in ${addonCandidates().join(', ')}); run "npm run build:native"`,
      'ERR_UNSUPPORTED',
    );
  }
  assertCpuRunsAddon(found);
  quietOpenBlasThreads();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(found) as NativeAddon;
  addon.setErrorClass(FaissError);
  return addon;
}

/**
 * OpenBLAS's worker threads spin for 2^28 cycles (~0.1 s here) after every matrix
 * product before they sleep, so each batch search or training step leaves a core
 * busy doing nothing for a tenth of a second, slowing whatever runs next (measured:
 * one-query HNSW searches right after a flat batch ~40% slower). Unless the user
 * chose a value, they sleep at once (2^4 cycles, OpenBLAS's minimum): batches are no
 * slower for it. OpenBLAS reads the variable when it loads, i.e. with the addon.
 */
function quietOpenBlasThreads(): void {
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '4';
}

export const native: NativeAddon = load();

/** What the loaded addon was built with. */
export interface BuildInfo {
  faissVersion: string;
  /** The instruction set the addon and its FAISS were compiled for: avx512, avx2 or generic. */
  isa: string;
  /** FAISS's own get_compile_options(). */
  compileOptions: string;
  cores: number;
  /** Whether it was built with FAISS's GPU indexes (npm run build:native-gpu). */
  gpu: boolean;
  /** The CUDA toolkit's version it was built with ("11.8"); null in a CPU build. */
  cudaVersion: string | null;
  /** The GPU architectures FAISS's CUDA code was compiled for (CMAKE_CUDA_ARCHITECTURES, e.g. "80;90"); null in a CPU build. */
  cudaArchs: string | null;
}

export interface MemoryLimits {
  /** Bytes one call (a search, a range search, building an index) may allocate. */
  perCallBytes: number;
}

export interface SearchLanes {
  threads: number;
  spinMicroseconds: number;
}

/** The C heap: bytes in live allocations, and freed bytes the allocator keeps. */
export interface NativeHeap {
  inUseBytes: number;
  retainedBytes: number;
}

export interface PoolStats {
  tasks: number;
  inlineSearches: number;
  waitSeconds: number;
  running: number;
  laneJobs: number;
  laneWakes: number;
  laneSpinSeconds: number;
}
