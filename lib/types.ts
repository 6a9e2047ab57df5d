// Result and parameter types shared by the embedded library and the remote client.
import type { IDSelector } from './selectors';

/** Vectors: n x d floats, row-major. `number[][]` is accepted too and copied. */
export type Vectors = Float32Array | readonly ArrayLike<number>[];

/** Ids: BigInt64Array (used as is) or an array of integers (copied). */
export type Ids = BigInt64Array | readonly (number | bigint)[];

/** Per-call search settings; each overrides the index's own value for this call. */
export interface SearchParams {
  /** IVF indexes: how many inverted lists to visit. */
  nprobe?: number;
  /** HNSW indexes: size of the candidate list during search. */
  efSearch?: number;
  /** Only the ids this selector selects are searched (lib/selectors.ts). */
  sel?: IDSelector;
}

/**
 * nq x k, row-major. Where fewer than k neighbours exist, FAISS fills label -1 and
 * distance 3.4028235e38 (FLT_MAX; -FLT_MAX for inner product).
 */
export interface SearchResult {
  distances: Float32Array;
  labels: BigInt64Array;
}

/** A search's results with the stored vectors of its labels: vectors is nq x k x d, NaN where the label is -1. */
export interface SearchAndReconstructResult extends SearchResult {
  vectors: Float32Array;
}

/** Results of query i are at [lims[i], lims[i + 1]) in distances and labels. */
export interface RangeSearchResult {
  lims: BigUint64Array;
  distances: Float32Array;
  labels: BigInt64Array;
}

/** Direct map kinds for IVF reconstruct: "array" (make_direct_map) or "hashtable". */
export type DirectMapType = 'array' | 'hashtable';

/**
 * Binary codes: n rows of d / 8 bytes (d bits each), row-major, as a Uint8Array
 * (a Buffer is one; used as is), or an array of rows of byte values 0..255 (copied).
 */
export type BinaryCodes = Uint8Array | readonly ArrayLike<number>[];

/**
 * A binary index's k-NN answer: nq x k, row-major, Hamming distances. Where fewer
 * than k neighbours exist the label is -1 (and the distance FAISS's fill value:
 * 2147483647, or -2147483648 from IndexBinaryHNSW).
 */
export interface BinarySearchResult {
  distances: Int32Array;
  labels: BigInt64Array;
}

/** Results of query i are at [lims[i], lims[i + 1]) in distances (Hamming) and labels. */
export interface BinaryRangeSearchResult {
  lims: BigUint64Array;
  distances: Int32Array;
  labels: BigInt64Array;
}
