// The index contract: what an index offers, whether FAISS runs in this process
// (Index, lib/faiss-index.ts) or on a faiss-proxy server (RemoteIndex,
// lib/client/remote-index.ts). Both classes `implements IndexContract`, and both
// modules are checked against FaissApi (lib/index.ts, lib/client/connect.ts), so
// the compiler holds them to one API; the same calls with the same bad arguments
// throw the same FaissError codes (lib/limits.ts; test/client/parity.test.ts).
//
// What necessarily differs, and why (docs/api.md, "Embedded or remote"):
// - dispose(): embedded, it frees the FAISS index now; remote, it detaches the
//   object, and deletes the server's index only if it was created without a name
//   (a named index is shared state on the server; drop() deletes it).
// - ntotal, isTrained, typeName, bytes, version: embedded, read from the index;
//   remote, as of this client's last call (refresh() asks the server).
// - nprobe / efSearch set on a remote index are this client's settings, sent
//   with every search, and kmeansSeed with every train (unset: undefined, and
//   the server trains with FAISS's default, 1234); the server checks them then
//   (ERR_UNSUPPORTED for the wrong index type comes from the search or train,
//   not the setter). efConstruction is fixed when a remote index is created:
//   setting it is ERR_UNSUPPORTED.
// - mergeFrom and extractAll are ERR_UNSUPPORTED remotely: an index's vectors
//   do not travel through the client (serializeIndex exports them).
// - A remote IVF index builds its direct map itself; makeDirectMap checks its
//   argument and that the index exists.
// - The service removes ids from every index type, HNSW included; of the binary
//   indexes, only IndexBinaryIVF (the others would renumber: ERR_UNSUPPORTED).
// - Selectors work on both sides: the remote client sends one as a filter
//   (lib/wire.ts) with a search, a range search or removeIds; the service
//   resolves a removeIds filter to the ids present it selects and logs those.
// - searchAndReconstruct is one call under the index's lock embedded; remote it
//   is a search and then a reconstruct of the labels found (two requests), so a
//   label removed in between is ERR_NOT_FOUND.
import type { MetricType, ScalarQuantizer } from './constants';
import type { FaissError } from './errors';
import type { IDSelector } from './selectors';
import type * as Selectors from './selectors';
import type {
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

/**
 * What an index of either kind has, over the rows it takes (X: float vectors or
 * binary codes) and its search (S) and range search (R) results: IndexContract
 * and IndexBinaryContract add their own.
 */
export interface IndexContractCommon<X, S, R> {
  /** Dimension (binary indexes: bits per code). */
  readonly d: number;
  /** The Python faiss class name ("IndexIVFPQ", "IndexBinaryIVF", ...). */
  readonly typeName: string;
  readonly disposed: boolean;
  // The rest throw ERR_DISPOSED once the index is disposed.
  readonly ntotal: number;
  readonly isTrained: boolean;
  /** Bytes the index takes once serialized. */
  readonly bytes: number;
  /** Grows with every mutation. */
  readonly version: number;
  /** IVF: lists visited per search. */
  get nprobe(): number | undefined;
  set nprobe(v: number);
  /** HNSW: candidate list size during search. */
  get efSearch(): number | undefined;
  set efSearch(v: number);
  /** HNSW: candidate list size during add. */
  get efConstruction(): number | undefined;
  set efConstruction(v: number);
  /** IVF: the seed of train's k-means (Python's index.cp.seed; 1234 by default). */
  get kmeansSeed(): number | undefined;
  set kmeansSeed(v: number);

  train(x: X): Promise<void>;
  add(x: X): Promise<void>;
  addWithIds(x: X, ids: Ids): Promise<void>;
  search(x: X, k: number, params?: SearchParams): Promise<S>;
  rangeSearch(x: X, radius: number, params?: SearchParams): Promise<R>;
  reset(): Promise<void>;
  dispose(): void;
}

export interface IndexContract extends IndexContractCommon<Vectors, SearchResult, RangeSearchResult> {
  /** METRIC_L2, METRIC_INNER_PRODUCT, or (flat and HNSW-flat indexes) another FAISS metric. */
  readonly metricType: number;
  /** The labels of the k nearest neighbours, as Python's Index.assign. */
  assign(x: Vectors, k: number, params?: SearchParams): Promise<BigInt64Array>;
  /** A search with the results' stored vectors (NaN rows where there is no result). */
  searchAndReconstruct(x: Vectors, k: number, params?: SearchParams): Promise<SearchAndReconstructResult>;
  /** How many vectors were removed: those with the given ids, or those the selector selects. */
  removeIds(ids: Ids | IDSelector): Promise<number>;
  reconstruct(id: number | bigint): Promise<Float32Array>;
  reconstructN(i0: number, n: number): Promise<Float32Array>;
  /** Moves every vector of `other` (an index of the same kind) into this one. */
  mergeFrom(other: IndexContract, addId?: number): Promise<void>;
  makeDirectMap(type?: DirectMapType): Promise<void>;
  /** Every stored vector with its id. */
  extractAll(): Promise<{ ids: BigInt64Array; vectors: Float32Array }>;
}

/**
 * A binary index (IndexBinaryFlat, IndexBinaryIVF, IndexBinaryHNSW): codes of d
 * bits (d / 8 bytes) compared by Hamming distance; rangeSearch finds the codes at
 * a Hamming distance below `radius` (an integer). Same rules as IndexContract,
 * embedded (IndexBinary, lib/binary-index.ts) or remote.
 */
export interface IndexBinaryContract extends IndexContractCommon<BinaryCodes, BinarySearchResult, BinaryRangeSearchResult> {
  /** Bytes per code: d / 8. */
  readonly codeSize: number;
  /** How many codes were removed. */
  removeIds(ids: Ids): Promise<number>;
  /** The stored code, d / 8 bytes. */
  reconstruct(id: number | bigint): Promise<Uint8Array>;
}

/** The binary-index part of the module, embedded or remote, over its binary index class B. */
export interface FaissBinaryApi<B extends IndexBinaryContract> {
  /** The base class of every binary index of the module: `v instanceof IndexBinary`. */
  IndexBinary: { prototype: B };
  IndexBinaryFlat: new (d: number) => B;
  IndexBinaryIVF: new (quantizer: B, d: number, nlist: number) => B;
  IndexBinaryHNSW: new (d: number, M?: number) => B;
  indexBinaryFactory(d: number, description: string): B;
  serializeIndexBinary(index: B): Promise<Uint8Array>;
  deserializeIndexBinary(buffer: Uint8Array | ArrayBuffer, options?: DeserializeIndexOptions): Promise<B>;
}

export interface DeserializeIndexOptions {
  /**
   * Skip the sandbox: FAISS reads the bytes in this process, as they are. Only for
   * bytes this program wrote itself: FAISS trusts every size in a file, and a
   * damaged or crafted one can crash the process. Default false. The server
   * always reads an import in its sandbox: remotely it is checked and has no effect.
   */
  trusted?: boolean;
}

/**
 * The module's classes and functions, embedded (`require('faiss-proxy')`) or
 * remote (`connect({ url, apiKey })`), over its index class I. The remote ones
 * also take a last options argument ({ name }); extras on either side (readIndex,
 * openIndex, ...) are outside the contract.
 */
export interface FaissApi<I extends IndexContract> {
  /** The base class of every index of the module: `v instanceof Index`. */
  Index: { prototype: I };
  IndexFlat: new (d: number, metricType?: MetricType) => I;
  IndexFlatL2: new (d: number) => I;
  IndexFlatIP: new (d: number) => I;
  IndexIVFFlat: new (quantizer: I, d: number, nlist: number, metricType?: MetricType) => I;
  IndexIVFPQ: new (quantizer: I, d: number, nlist: number, m: number, nbits: number, metricType?: MetricType) => I;
  IndexHNSWFlat: new (d: number, M?: number, metricType?: MetricType) => I;
  IndexPQ: new (d: number, M: number, nbits: number, metricType?: MetricType) => I;
  IndexScalarQuantizer: new (d: number, qtype: (typeof ScalarQuantizer)[keyof typeof ScalarQuantizer], metricType?: MetricType) => I;
  IndexIDMap: new (index: I) => I;
  IndexIDMap2: new (index: I) => I;
  indexFactory(d: number, description: string, metricType?: MetricType): I;
  serializeIndex(index: I): Promise<Uint8Array>;
  deserializeIndex(buffer: Uint8Array | ArrayBuffer, options?: DeserializeIndexOptions): Promise<I>;
  METRIC_L2: 1;
  METRIC_INNER_PRODUCT: 0;
  ScalarQuantizer: typeof ScalarQuantizer;
  FaissError: typeof FaissError;
  // The selectors are the same classes on both sides (plain values, lib/selectors.ts).
  IDSelector: typeof Selectors.IDSelector;
  IDSelectorBatch: typeof Selectors.IDSelectorBatch;
  IDSelectorArray: typeof Selectors.IDSelectorArray;
  IDSelectorRange: typeof Selectors.IDSelectorRange;
  IDSelectorBitmap: typeof Selectors.IDSelectorBitmap;
  IDSelectorNot: typeof Selectors.IDSelectorNot;
  IDSelectorAnd: typeof Selectors.IDSelectorAnd;
  IDSelectorOr: typeof Selectors.IDSelectorOr;
  IDSelectorXOr: typeof Selectors.IDSelectorXOr;
}
