// What every embedded index has, float (Index, lib/faiss-index.ts) or binary
// (IndexBinary, lib/binary-index.ts): the native wrapper it validates for and
// hands its calls to, and the properties both kinds have (native/wrap_base.h is
// the same on the native side). Each kind keeps its own brand, so that one kind's
// methods refuse the other kind's objects.
import { invalidParameterError } from './is';
import { disposedError, kmeansSeedArg, tunableArg } from './limits';
import type { NativeIndexCommon } from './native';

export abstract class IndexBase<N extends NativeIndexCommon> {
  readonly #native: N;

  /** @internal The subclass checked that `nativeIndex` is of its kind. */
  protected constructor(nativeIndex: N) {
    this.#native = nativeIndex;
  }

  /**
   * @internal The native wrapper behind `v`, an index of either kind made by this
   * library and, when `live`, not disposed. A brand check (`#native in v` runs none
   * of the caller's code, and is false for a Proxy and for an object made from a
   * prototype), so that a getter read on a foreign object throws a FaissError
   * rather than a TypeError. The subclasses check their own kind first.
   */
  static nativeBehind<M extends NativeIndexCommon>(v: unknown, name: string, live = true): M {
    if (typeof v !== 'object' || v === null || !(#native in v)) throw invalidParameterError(name, 'an index', v);
    const n = (v as IndexBase<NativeIndexCommon>).#native as M;
    if (live && n.disposed) throw disposedError();
    return n;
  }

  get d(): number {
    return anyOf(this).d;
  }
  get ntotal(): number {
    return liveOf(this).ntotal;
  }
  get isTrained(): boolean {
    return liveOf(this).isTrained;
  }
  /** The Python faiss class name of the underlying index ("IndexIVFPQ", "IndexBinaryIVF", ...). */
  get typeName(): string {
    return anyOf(this).typeName;
  }
  /** Bytes the index takes once serialized (our estimate of its memory use). */
  get bytes(): number {
    return liveOf(this).bytes;
  }
  /** Grows by one with every mutation (train, add, remove, reset, merge). */
  get version(): number {
    return liveOf(this).version;
  }
  get disposed(): boolean {
    return anyOf(this).disposed;
  }

  /** IVF indexes only (undefined elsewhere); setting it elsewhere is ERR_UNSUPPORTED. */
  get nprobe(): number | undefined {
    return liveOf(this).nprobe;
  }
  set nprobe(v: number) {
    liveOf(this).nprobe = tunableArg(v, 'nprobe');
  }
  /** HNSW indexes only. */
  get efSearch(): number | undefined {
    return liveOf(this).efSearch;
  }
  set efSearch(v: number) {
    liveOf(this).efSearch = tunableArg(v, 'efSearch');
  }
  /** HNSW indexes only; used by later adds. */
  get efConstruction(): number | undefined {
    return liveOf(this).efConstruction;
  }
  set efConstruction(v: number) {
    liveOf(this).efConstruction = tunableArg(v, 'efConstruction');
  }
  /** IVF indexes only; the seed of later trains' k-means (Python's index.cp.seed). */
  get kmeansSeed(): number | undefined {
    return liveOf(this).kmeansSeed;
  }
  set kmeansSeed(v: number) {
    liveOf(this).kmeansSeed = kmeansSeedArg(v);
  }

  async reset(): Promise<void> {
    return liveOf(this).reset();
  }

  /** Frees the index's memory now rather than at garbage collection. Idempotent. */
  dispose(): void {
    anyOf(this).dispose();
  }
}

// `this` as the getters see it: a plain object or a Proxy when one is read on
// one, which must not reach a property lookup.
const liveOf = (self: unknown): NativeIndexCommon => IndexBase.nativeBehind(self, 'this');
// For what stays readable after dispose (d, typeName, disposed).
const anyOf = (self: unknown): NativeIndexCommon => IndexBase.nativeBehind(self, 'this', false);
