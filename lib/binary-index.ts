// The base class of every embedded binary index (IndexBinaryFlat, IndexBinaryIVF,
// IndexBinaryHNSW): validates arguments, converts them, and hands them to the
// native wrapper, as lib/faiss-index.ts does for float indexes. Codes are d / 8
// bytes; distances are Hamming distances, as Int32Array.
import type { IndexBinaryContract } from './contract';
import { toCodes } from './codes';
import { FaissError } from './errors';
import { invalidParameterError } from './is';
import { binarySearchParams, disposedError, hammingRadiusArg, idArg, kArg, searchParams, tunableArg } from './limits';
import { native, type NativeBinaryIndex } from './native';
import type { BinaryCodes, BinaryRangeSearchResult, BinarySearchResult, Ids, SearchParams } from './types';
import { toIds, toNewIds } from './vectors';

export class IndexBinary implements IndexBinaryContract {
  readonly #native: NativeBinaryIndex;

  /** @internal Subclasses pass the FAISS object they built. */
  constructor(nativeIndex: NativeBinaryIndex) {
    if (!native.isNativeBinaryIndex(nativeIndex)) {
      throw new FaissError(
        'IndexBinary is the base class: build a binary index with a subclass (IndexBinaryFlat, ...) or indexBinaryFactory()',
        'ERR_INVALID_ARGUMENT',
      );
    }
    this.#native = nativeIndex;
  }

  /**
   * @internal The native wrapper behind `v`, which must be a binary index made by
   * this library and, when `live`, not disposed. A brand check, as Index.nativeOf:
   * a float Index, a Proxy or an object made from IndexBinary.prototype is none.
   */
  static nativeOf(v: unknown, name: string, live = true): NativeBinaryIndex {
    if (typeof v !== 'object' || v === null || !(#native in v)) throw invalidParameterError(name, 'an IndexBinary', v);
    const n = (v as IndexBinary).#native;
    if (live && n.disposed) throw disposedError();
    return n;
  }

  /** Bits per code. */
  get d(): number {
    return anyOf(this).d;
  }
  /** Bytes per code: d / 8. */
  get codeSize(): number {
    return anyOf(this).codeSize;
  }
  get ntotal(): number {
    return liveOf(this).ntotal;
  }
  get isTrained(): boolean {
    return liveOf(this).isTrained;
  }
  /** The Python faiss class name ("IndexBinaryIVF", ...). */
  get typeName(): string {
    return anyOf(this).typeName;
  }
  /** Bytes the index takes once serialized. */
  get bytes(): number {
    return liveOf(this).bytes;
  }
  /** Grows by one with every mutation (train, add, remove, reset). */
  get version(): number {
    return liveOf(this).version;
  }
  get disposed(): boolean {
    return anyOf(this).disposed;
  }

  /** IndexBinaryIVF only (undefined elsewhere); setting it elsewhere is ERR_UNSUPPORTED. */
  get nprobe(): number | undefined {
    return liveOf(this).nprobe;
  }
  set nprobe(v: number) {
    liveOf(this).nprobe = tunableArg(v, 'nprobe');
  }
  /** IndexBinaryHNSW only. */
  get efSearch(): number | undefined {
    return liveOf(this).efSearch;
  }
  set efSearch(v: number) {
    liveOf(this).efSearch = tunableArg(v, 'efSearch');
  }
  /** IndexBinaryHNSW only; used by later adds. */
  get efConstruction(): number | undefined {
    return liveOf(this).efConstruction;
  }
  set efConstruction(v: number) {
    liveOf(this).efConstruction = tunableArg(v, 'efConstruction');
  }

  async train(x: BinaryCodes): Promise<void> {
    const n = liveOf(this);
    return n.train(toCodes(x, n.codeSize));
  }

  async add(x: BinaryCodes): Promise<void> {
    const n = liveOf(this);
    return n.add(toCodes(x, n.codeSize));
  }

  async addWithIds(x: BinaryCodes, ids: Ids): Promise<void> {
    const n = liveOf(this);
    const codes = toCodes(x, n.codeSize);
    return n.add(codes, toNewIds(ids, 'ids', codes.length / n.codeSize));
  }

  async search(x: BinaryCodes, k: number, params?: SearchParams): Promise<BinarySearchResult> {
    const n = liveOf(this);
    const q = toCodes(x, n.codeSize);
    kArg(k);
    const p = binarySearchParams(searchParams(params));
    return n.search(q, k, p.nprobe, p.efSearch);
  }

  /** Every stored code at a Hamming distance below `radius` (an integer), as FAISS's range_search. */
  async rangeSearch(x: BinaryCodes, radius: number, params?: SearchParams): Promise<BinaryRangeSearchResult> {
    const n = liveOf(this);
    const q = toCodes(x, n.codeSize);
    hammingRadiusArg(radius);
    const p = binarySearchParams(searchParams(params));
    return n.rangeSearch(q, radius, p.nprobe, p.efSearch);
  }

  /** Returns how many codes were removed. */
  async removeIds(ids: Ids): Promise<number> {
    return liveOf(this).removeIds(toIds(ids));
  }

  async reconstruct(id: number | bigint): Promise<Uint8Array> {
    const n = liveOf(this);
    return n.reconstruct(idArg(id));
  }

  async reset(): Promise<void> {
    return liveOf(this).reset();
  }

  /** Frees the index's memory now rather than at garbage collection. Idempotent. */
  dispose(): void {
    anyOf(this).dispose();
  }
}

const liveOf = (self: unknown): NativeBinaryIndex => IndexBinary.nativeOf(self, 'this');
const anyOf = (self: unknown): NativeBinaryIndex => IndexBinary.nativeOf(self, 'this', false);
