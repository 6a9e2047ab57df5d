// The base class of every embedded index: validates arguments, converts them, and
// hands them to the native wrapper. Subclasses (indexes.ts) only choose how the
// FAISS object is built.
import { FaissError } from './errors';
import { inlineSearch } from './inline-search';
import { integerIn, invalidParameterError, isFiniteNumber, isObject, positiveInteger } from './is';
import { native, type NativeIndex } from './native';
import type { DirectMapType, Ids, RangeSearchResult, SearchParams, SearchResult, Vectors } from './types';
import { toIds, toMatrix, toNewIds } from './vectors';

const MAX_K = 2 ** 20;
const MAX_ID = 2 ** 53;

/** The native wrapper behind an Index; for this library's own modules, not for users. */
export const nativeOf = (index: Index): NativeIndex => index.native();

export class Index {
  readonly #native: NativeIndex;

  /** @internal Subclasses pass the FAISS object they built. */
  constructor(nativeIndex: NativeIndex) {
    if (!(nativeIndex instanceof native.NativeIndex)) {
      throw new FaissError('Index is the base class: build an index with a subclass (IndexFlatL2, ...) or indexFactory()', 'ERR_INVALID_ARGUMENT');
    }
    this.#native = nativeIndex;
  }

  /** @internal */
  native(): NativeIndex {
    if (this.#native.disposed) {
      throw new FaissError('This index has been disposed; it cannot be used any more', 'ERR_DISPOSED');
    }
    return this.#native;
  }

  get d(): number {
    return this.#native.d;
  }
  get ntotal(): number {
    return this.native().ntotal;
  }
  get isTrained(): boolean {
    return this.native().isTrained;
  }
  get metricType(): number {
    return this.#native.metricType;
  }
  /** The Python faiss class name of the underlying index ("IndexIVFPQ", ...). */
  get typeName(): string {
    return this.#native.typeName;
  }
  /** Bytes the index takes once serialized (our estimate of its memory use). */
  get bytes(): number {
    return this.native().bytes;
  }
  /** Grows by one with every mutation (train, add, remove, reset, merge). */
  get version(): number {
    return this.native().version;
  }
  get disposed(): boolean {
    return this.#native.disposed;
  }

  /** IVF indexes only (undefined elsewhere); setting it elsewhere is ERR_UNSUPPORTED. */
  get nprobe(): number | undefined {
    return this.native().nprobe;
  }
  set nprobe(v: number) {
    this.native().nprobe = v;
  }
  /** HNSW indexes only. */
  get efSearch(): number | undefined {
    return this.native().efSearch;
  }
  set efSearch(v: number) {
    this.native().efSearch = v;
  }
  /** HNSW indexes only; used by later adds. */
  get efConstruction(): number | undefined {
    return this.native().efConstruction;
  }
  set efConstruction(v: number) {
    this.native().efConstruction = v;
  }

  async train(x: Vectors): Promise<void> {
    const n = this.native();
    return n.train(toMatrix(x, n.d));
  }

  async add(x: Vectors): Promise<void> {
    const n = this.native();
    return n.add(toMatrix(x, n.d));
  }

  async addWithIds(x: Vectors, ids: Ids): Promise<void> {
    const n = this.native();
    const m = toMatrix(x, n.d);
    return n.add(m, toNewIds(ids, 'ids', m.length / n.d));
  }

  async search(x: Vectors, k: number, params?: SearchParams): Promise<SearchResult> {
    const n = this.native();
    const q = toMatrix(x, n.d);
    positiveInteger(k, 'k', MAX_K);
    const p = searchParams(params);
    return inlineSearch(() => n.searchInline(q, k, p.nprobe, p.efSearch)) ?? n.search(q, k, p.nprobe, p.efSearch);
  }

  async rangeSearch(x: Vectors, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    const n = this.native();
    const q = toMatrix(x, n.d);
    if (!isFiniteNumber(radius)) throw invalidParameterError('radius', 'a finite number', radius);
    const p = searchParams(params);
    return n.rangeSearch(q, radius, p.nprobe, p.efSearch);
  }

  /** Returns how many vectors were removed. */
  async removeIds(ids: Ids): Promise<number> {
    return this.native().removeIds(toIds(ids));
  }

  async reconstruct(id: number | bigint): Promise<Float32Array> {
    const n = this.native();
    if (typeof id !== 'bigint') integerIn(id, 'id', -MAX_ID, MAX_ID);
    return n.reconstruct(id);
  }

  async reconstructN(i0: number, count: number): Promise<Float32Array> {
    const n = this.native();
    integerIn(i0, 'i0', 0, MAX_ID);
    integerIn(count, 'n', 0, MAX_ID);
    return n.reconstructN(i0, count);
  }

  async reset(): Promise<void> {
    return this.native().reset();
  }

  /** Moves every vector of `other` into this index (as FAISS does, `other` is left empty). */
  async mergeFrom(other: Index, addId = 0): Promise<void> {
    const n = this.native();
    if (!(other instanceof Index)) throw invalidParameterError('other', 'an Index', other);
    integerIn(addId, 'addId', 0, MAX_ID);
    return n.mergeFrom(other.native(), addId);
  }

  /** IVF only: enables reconstruct(id), as make_direct_map() in Python. */
  async makeDirectMap(type: DirectMapType = 'array'): Promise<void> {
    return this.native().makeDirectMap(type);
  }

  /**
   * Every stored vector with its id (the caller's ids for IndexIDMap*, else
   * 0..ntotal-1), as a copy: what rebuilding an index elsewhere needs.
   * Needs an index that can reconstruct.
   */
  async extractAll(): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    return this.native().extractAll();
  }

  /**
   * Checks the index's internal structure (for one read from an untrusted file:
   * FAISS's reader does not). Rejects with ERR_CORRUPT_INDEX when inconsistent,
   * ERR_UNSUPPORTED for types it cannot check (it covers flat, PQ, SQ, HNSW,
   * IVF Flat/PQ/SQ and IDMap of those).
   */
  async validate(): Promise<void> {
    return this.native().validate();
  }

  /** Frees the index's memory now rather than at garbage collection. Idempotent. */
  dispose(): void {
    this.#native.dispose();
  }
}

function searchParams(params: SearchParams | undefined): SearchParams {
  if (params === undefined) return {};
  if (!isObject(params)) throw invalidParameterError('params', 'an object', params);
  for (const key of Object.keys(params)) {
    if (key !== 'nprobe' && key !== 'efSearch') {
      throw invalidParameterError('params', 'only the keys nprobe and efSearch', key);
    }
  }
  if (params.nprobe !== undefined) positiveInteger(params.nprobe, 'params.nprobe');
  if (params.efSearch !== undefined) positiveInteger(params.efSearch, 'params.efSearch');
  return params;
}
