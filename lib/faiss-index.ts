// The base class of every embedded index: validates arguments, converts them, and
// hands them to the native wrapper. Subclasses (indexes.ts) only choose how the
// FAISS object is built.
import type { IndexContract } from './contract';
import { isBigInt64Array } from './brands';
import { FaissError } from './errors';
import { inlineSearch } from './inline-search';
import { invalidParameterError } from './is';
import { IndexBase } from './index-base';
import { SearchBatcher } from './search-batcher';
import { directMapTypeArg, idArg, kArg, kFactorArg, metricArgValueArg, positionArg, radiusArg, searchParams } from './limits';
import { native, type NativeIndex } from './native';
import { nativeSelectorOf } from './native-selectors';
import { IDSelector } from './selectors';
import type { DirectMapType, Ids, RangeSearchResult, SearchAndReconstructResult, SearchParams, SearchResult, Vectors } from './types';
import { toIds, toMatrix, toNewIds } from './vectors';

export class Index extends IndexBase<NativeIndex> implements IndexContract {
  // Tells a float index from a binary one (IndexBinary) without running the caller's code.
  readonly #float = true;

  /** @internal Subclasses pass the FAISS object they built. */
  constructor(nativeIndex: NativeIndex) {
    if (!native.isNativeIndex(nativeIndex)) {
      throw new FaissError('Index is the base class: build an index with a subclass (IndexFlatL2, ...) or indexFactory()', 'ERR_INVALID_ARGUMENT');
    }
    super(nativeIndex);
  }

  /**
   * @internal The native wrapper behind `v`, which must be an index made by this
   * library and, when `live`, not disposed; for this library's own modules. A brand
   * check (`#float in v` runs none of the caller's code, and is false for a Proxy,
   * for an object made from Index.prototype and for a binary index), so that
   * methods called on or given a foreign object throw a FaissError rather than a TypeError.
   */
  static nativeOf(v: unknown, name: string, live = true): NativeIndex {
    if (typeof v !== 'object' || v === null || !(#float in v)) throw invalidParameterError(name, 'an Index', v);
    return IndexBase.nativeBehind<NativeIndex>(v, name, live);
  }

  /** @internal */
  native(): NativeIndex {
    return Index.nativeOf(this, 'this');
  }

  get metricType(): number {
    return anyOf(this).metricType;
  }
  /**
   * Whether FAISS answers a batch of queries faster than the same queries one call
   * each (a brute-force flat index, alone or under an IDMap): concurrent searches
   * are then worth sending as one call. From the FAISS type, not the factory string.
   */
  get batchable(): boolean {
    return anyOf(this).batchable;
  }
  /**
   * Whether search takes a selector (`{ sel }`): FAISS 1.7.3 filters Flat, IVF
   * (Flat, PQ, SQ), HNSW and SQ indexes, also inside an IDMap or a pre-transform.
   * From the FAISS type; a filtered search of any other type is ERR_UNSUPPORTED.
   */
  get filterable(): boolean {
    return anyOf(this).filterable;
  }
  /**
   * The GPU the index lives on (Python's getDevice(); the first of them for an
   * index over several), or undefined for an index on the CPU (docs/gpu.md).
   */
  get device(): number | undefined {
    return anyOf(this).device;
  }
  /**
   * METRIC_Lp's p (Python's index.metric_arg); 0 on an index of another metric,
   * where setting it is ERR_UNSUPPORTED.
   */
  get metricArg(): number {
    return liveOf(this).metricArg;
  }
  set metricArg(v: number) {
    liveOf(this).metricArg = metricArgValueArg(v);
  }
  /** Refine indexes (IndexRefineFlat, "...,RFlat") only: the base index is asked for k * kFactor results. */
  get kFactor(): number | undefined {
    return liveOf(this).kFactor;
  }
  set kFactor(v: number) {
    liveOf(this).kFactor = kFactorArg(v);
  }

  async train(x: Vectors): Promise<void> {
    const n = liveOf(this);
    return n.train(toMatrix(x, n.d));
  }

  async add(x: Vectors): Promise<void> {
    const n = liveOf(this);
    return n.add(toMatrix(x, n.d));
  }

  async addWithIds(x: Vectors, ids: Ids): Promise<void> {
    const n = liveOf(this);
    const m = toMatrix(x, n.d);
    return n.add(m, toNewIds(ids, 'ids', m.length / n.d));
  }

  async search(x: Vectors, k: number, params?: SearchParams): Promise<SearchResult> {
    const n = liveOf(this);
    const q = toMatrix(x, n.d);
    kArg(k);
    const p = searchParams(params);
    if (p.sel) {
      const sel = nativeSelectorOf(p.sel);
      return inlineSearch(() => n.searchInline(q, k, p.nprobe, p.efSearch, sel)) ?? n.search(q, k, p.nprobe, p.efSearch, sel);
    }
    // A GPU index's concurrent searches go to FAISS as one batch (lib/search-batcher.ts).
    if (n.device !== undefined && p.efSearch === undefined) return batcherOf(n).search(q, k, p.nprobe);
    return inlineSearch(() => n.searchInline(q, k, p.nprobe, p.efSearch)) ?? n.search(q, k, p.nprobe, p.efSearch);
  }

  /** The labels of the k nearest neighbours (nq * k), as Python's Index.assign: a search without the distances. */
  async assign(x: Vectors, k: number, params?: SearchParams): Promise<BigInt64Array> {
    return (await this.search(x, k, params)).labels;
  }

  /**
   * A search that also returns the results' stored vectors (decoded; NaN rows
   * where a slot has no result), as FAISS's search_and_reconstruct.
   */
  async searchAndReconstruct(x: Vectors, k: number, params?: SearchParams): Promise<SearchAndReconstructResult> {
    const n = liveOf(this);
    const q = toMatrix(x, n.d);
    kArg(k);
    const p = searchParams(params);
    return n.searchAndReconstruct(q, k, p.nprobe, p.efSearch);
  }

  /**
   * The exact k nearest neighbours among the stored vectors of `labels` (a
   * BigInt64Array in increasing order, no repeats): a distance per label, not a
   * pass over the index, in the search's own distance. Flat, SQ, PQ, HNSW, IVF
   * with a direct map, and those under an IndexIDMap2; ERR_UNSUPPORTED
   * elsewhere, ERR_INVALID_ARGUMENT for a label with no stored vector.
   *
   * @internal The collections' query planner (lib/collections/planner.ts) uses
   * it for filters that keep few points; it is not part of the index contract
   * (lib/contract.ts), which the remote client implements too.
   */
  async searchSubset(x: Vectors, k: number, labels: BigInt64Array): Promise<SearchResult> {
    const n = liveOf(this);
    const q = toMatrix(x, n.d);
    kArg(k);
    // By brand, not instanceof: instanceof runs a Proxy's traps.
    if (!isBigInt64Array(labels)) throw new FaissError('searchSubset: expected a BigInt64Array of labels', 'ERR_INVALID_ARGUMENT');
    return inlineSearch(() => n.searchSubsetInline(q, k, labels)) ?? n.searchSubset(q, k, labels);
  }

  async rangeSearch(x: Vectors, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    const n = liveOf(this);
    const q = toMatrix(x, n.d);
    radiusArg(radius);
    const p = searchParams(params);
    return n.rangeSearch(q, radius, p.nprobe, p.efSearch, p.sel && nativeSelectorOf(p.sel));
  }

  /** Removes the vectors with the given ids, or those the selector selects; returns how many. */
  async removeIds(ids: Ids | IDSelector): Promise<number> {
    const n = liveOf(this);
    return n.removeIds(IDSelector.isSelector(ids) ? nativeSelectorOf(ids) : toIds(ids));
  }

  async reconstruct(id: number | bigint): Promise<Float32Array> {
    const n = liveOf(this);
    return n.reconstruct(idArg(id));
  }

  async reconstructN(i0: number, count: number): Promise<Float32Array> {
    const n = liveOf(this);
    positionArg(i0, 'i0');
    positionArg(count, 'n');
    return n.reconstructN(i0, count);
  }

  /** Moves every vector of `other` into this index (as FAISS does, `other` is left empty). */
  async mergeFrom(other: Index, addId = 0): Promise<void> {
    const n = liveOf(this);
    const o = Index.nativeOf(other, 'other');
    positionArg(addId, 'addId');
    return n.mergeFrom(o, addId);
  }

  /** IVF only: enables reconstruct(id), as make_direct_map() in Python. */
  async makeDirectMap(type: DirectMapType = 'array'): Promise<void> {
    const n = liveOf(this);
    return n.makeDirectMap(directMapTypeArg(type));
  }

  /**
   * Every stored vector with its id (the caller's ids for IndexIDMap*, else
   * 0..ntotal-1), as a copy: what rebuilding an index elsewhere needs.
   * Needs an index that can reconstruct.
   */
  async extractAll(): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    return liveOf(this).extractAll();
  }
}

// `this` as methods see it: a plain object or a Proxy when a method is called on
// one (Index.prototype.search.call({})), which must not reach a property lookup.
const liveOf = (self: unknown): NativeIndex => Index.nativeOf(self, 'this');
// For what stays readable after dispose (metricType, batchable, filterable).
const anyOf = (self: unknown): NativeIndex => Index.nativeOf(self, 'this', false);

// One batcher per GPU index, for as long as the index lives.
const batchers = new WeakMap<NativeIndex, SearchBatcher>();
function batcherOf(n: NativeIndex): SearchBatcher {
  let b = batchers.get(n);
  if (!b) {
    b = new SearchBatcher(n.d, (x, k, nprobe) => n.search(x, k, nprobe));
    batchers.set(n, b);
  }
  return b;
}
