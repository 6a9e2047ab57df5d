// FAISS's StandardGpuResources (native/gpu_resources.h), for the GPU index
// constructors (lib/gpu-indexes.ts) and indexCpuToGpu (lib/gpu.ts).
import { gpuAddon, type NativeGpuResources } from './gpu-native';
import { integerIn, invalidParameterError } from './is';

/** Temporary memory per device: 0 .. 1 TiB (FAISS allocates it up front). */
const MAX_TEMP_MEMORY = 2 ** 40;

/**
 * FAISS's StandardGpuResources: the streams, cuBLAS handles and temporary memory
 * of the GPU indexes built on it. Indexes keep what they use alive, so it may go
 * before them. Its indexes take turns on it (FAISS's resources are not
 * thread-safe): indexes meant to run at the same time want one each.
 */
export class StandardGpuResources {
  readonly #native: NativeGpuResources;

  constructor() {
    this.#native = gpuAddon('StandardGpuResources').newGpuResources();
  }

  /** @internal The native resources behind `v`, or ERR_INVALID_ARGUMENT. */
  static nativeOf(v: unknown, name: string): NativeGpuResources {
    if (typeof v !== 'object' || v === null || !(#native in v)) throw invalidParameterError(name, 'a StandardGpuResources', v);
    return (v as StandardGpuResources).#native;
  }

  /**
   * Bytes of temporary memory each device gets (FAISS's default is a share of the
   * GPU's memory). ERR_BUSY while an index using these resources has a call in flight.
   */
  setTempMemory(bytes: number): void {
    gpuAddon('setTempMemory').gpuSetTempMemory(this.#native, integerIn(bytes, 'bytes', 0, MAX_TEMP_MEMORY));
  }

  /** No temporary memory: every scratch buffer is allocated (cudaMalloc) when needed. */
  noTempMemory(): void {
    gpuAddon('noTempMemory').gpuNoTempMemory(this.#native);
  }
}
