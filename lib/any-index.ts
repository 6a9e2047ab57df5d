// The service holds float indexes (Index) and binary ones (IndexBinary) alike: one
// durable index, log, snapshot and id policy for both. This module is where the
// two kinds differ: how rows are shaped (float32 vectors of d, or codes of d / 8
// bytes), which FAISS call takes them, and what an empty result slot holds. A
// catalog record tells the kinds apart by its factory string: binary ones are
// index_binary_factory's ("BFlat", "BIVF<n>", "BHNSW<M>"), which no float factory
// string starts with.
import { IndexBinary } from './binary-index';
import { indexBinaryFactory } from './binary-indexes';
import type { MetricType } from './constants';
import { FaissError } from './errors';
import type { Index } from './faiss-index';
import { indexFactory } from './indexes';
import type { BinaryRangeSearchResult, BinarySearchResult, RangeSearchResult, SearchParams, SearchResult } from './types';

export type AnyIndex = Index | IndexBinary;
/** Rows as an index takes them: float32 vectors (Index), or binary codes (IndexBinary). */
export type Rows = Float32Array | Uint8Array;
export type AnySearchResult = SearchResult | BinarySearchResult;
export type AnyRangeSearchResult = RangeSearchResult | BinaryRangeSearchResult;

export const isBinaryIndex = (index: AnyIndex): index is IndexBinary => index instanceof IndexBinary;

/** index_binary_factory's descriptions (and an imported binary index's "imported IndexBinary..."). */
export const isBinaryFactory = (factory: string): boolean => /^B[A-Z]/.test(factory) || factory.startsWith('imported IndexBinary');

/** Values per row in `Rows` (floats or bytes) of an index of dimension `d` (bits, for binary ones). */
export const rowLength = (d: number, binary: boolean): number => (binary ? d / 8 : d);

/** The empty index a catalog record describes. */
export function buildIndex(d: number, factory: string, metric: number): AnyIndex {
  return isBinaryFactory(factory) ? indexBinaryFactory(d, factory) : indexFactory(d, factory, metric as MetricType);
}

function mismatch(index: AnyIndex): FaissError {
  return isBinaryIndex(index)
    ? new FaissError(`${index.typeName} takes binary codes (d / 8 bytes each), not float vectors`, 'ERR_INVALID_ARGUMENT')
    : new FaissError(`${index.typeName} takes float vectors, not binary codes`, 'ERR_INVALID_ARGUMENT');
}

/** The kind of rows the index takes, or ERR_INVALID_ARGUMENT. */
function codesFor(index: IndexBinary, x: Rows): Uint8Array {
  if (!(x instanceof Uint8Array)) throw mismatch(index);
  return x;
}
function vectorsFor(index: Index, x: Rows): Float32Array {
  if (!(x instanceof Float32Array)) throw mismatch(index);
  return x;
}

export const trainRows = (index: AnyIndex, x: Rows): Promise<void> =>
  isBinaryIndex(index) ? index.train(codesFor(index, x)) : index.train(vectorsFor(index, x));

export function addRows(index: AnyIndex, x: Rows, ids?: BigInt64Array): Promise<void> {
  if (isBinaryIndex(index)) return ids ? index.addWithIds(codesFor(index, x), ids) : index.add(codesFor(index, x));
  return ids ? index.addWithIds(vectorsFor(index, x), ids) : index.add(vectorsFor(index, x));
}

export const searchRows = (index: AnyIndex, x: Rows, k: number, params?: SearchParams): Promise<AnySearchResult> =>
  isBinaryIndex(index) ? index.search(codesFor(index, x), k, params) : index.search(vectorsFor(index, x), k, params);

export const rangeSearchRows = (index: AnyIndex, x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> =>
  isBinaryIndex(index) ? index.rangeSearch(codesFor(index, x), radius, params) : index.rangeSearch(vectorsFor(index, x), radius, params);
