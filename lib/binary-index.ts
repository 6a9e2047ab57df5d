// The base class of every embedded binary index (IndexBinaryFlat, IndexBinaryIVF,
// IndexBinaryHNSW): validates arguments, converts them, and hands them to the
// native wrapper, as lib/faiss-index.ts does for float indexes. Codes are d / 8
// bytes; distances are Hamming distances, as Int32Array.
import type { IndexBinaryContract } from './contract';
import { toCodes } from './codes';
import { FaissError } from './errors';
import { invalidParameterError } from './is';
import { IndexBase } from './index-base';
import { binarySearchParams, hammingRadiusArg, idArg, kArg, searchParams } from './limits';
import { native, type NativeBinaryIndex } from './native';
import type { BinaryCodes, BinaryRangeSearchResult, BinarySearchResult, Ids, SearchParams } from './types';
import { toIds, toNewIds } from './vectors';

export class IndexBinary extends IndexBase<NativeBinaryIndex> implements IndexBinaryContract {
  // Tells a binary index from a float one (Index) without running the caller's code.
  readonly #binary = true;

  /** @internal Subclasses pass the FAISS object they built. */
  constructor(nativeIndex: NativeBinaryIndex) {
    if (!native.isNativeBinaryIndex(nativeIndex)) {
      throw new FaissError(
        'IndexBinary is the base class: build a binary index with a subclass (IndexBinaryFlat, ...) or indexBinaryFactory()',
        'ERR_INVALID_ARGUMENT',
      );
    }
    super(nativeIndex);
  }

  /**
   * @internal The native wrapper behind `v`, which must be a binary index made by
   * this library and, when `live`, not disposed. A brand check, as Index.nativeOf:
   * a float Index, a Proxy or an object made from IndexBinary.prototype is none.
   */
  static nativeOf(v: unknown, name: string, live = true): NativeBinaryIndex {
    if (typeof v !== 'object' || v === null || !(#binary in v)) throw invalidParameterError(name, 'an IndexBinary', v);
    return IndexBase.nativeBehind<NativeBinaryIndex>(v, name, live);
  }

  /** Bytes per code: d / 8. */
  get codeSize(): number {
    return anyOf(this).codeSize;
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
}

const liveOf = (self: unknown): NativeBinaryIndex => IndexBinary.nativeOf(self, 'this');
const anyOf = (self: unknown): NativeBinaryIndex => IndexBinary.nativeOf(self, 'this', false);
