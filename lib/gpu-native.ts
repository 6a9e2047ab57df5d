// The addon's GPU functions (native/gpu*.cc), which only its CUDA build has
// (`npm run build:native-gpu`, docs/gpu.md). Every GPU entry point of this library
// comes through gpuAddon(), which in the CPU build refuses with ERR_UNSUPPORTED
// saying so, and how to build with CUDA.
import { FaissError } from './errors';
import { native, type NativeIndex } from './native';

/** FAISS's StandardGpuResources, as the addon holds it (native/gpu_resources.h); opaque to JS. */
export interface NativeGpuResources {
  readonly __nativeGpuResources: never;
}

/** One GPU's memory as CUDA reports it (every process's use, not only this one's). */
export interface GpuMemory {
  device: number;
  freeBytes: number;
  totalBytes: number;
}

export interface NativeGpu {
  getNumGpus(): number;
  gpuMemory(): GpuMemory[];
  newGpuResources(): NativeGpuResources;
  gpuSetTempMemory(res: NativeGpuResources, bytes: number): void;
  gpuNoTempMemory(res: NativeGpuResources): void;
  newGpuIndexFlat(res: NativeGpuResources, d: number, metric: number, config: object): NativeIndex;
  newGpuIndexIVFFlat(res: NativeGpuResources, d: number, nlist: number, metric: number, config: object): NativeIndex;
  newGpuIndexIVFPQ(res: NativeGpuResources, d: number, nlist: number, m: number, nbits: number, metric: number, config: object): NativeIndex;
  newGpuIndexIVFScalarQuantizer(
    res: NativeGpuResources,
    d: number,
    nlist: number,
    qtype: number,
    metric: number,
    encodeResidual: boolean,
    config: object,
  ): NativeIndex;
  indexCpuToGpu(res: NativeGpuResources, device: number, index: NativeIndex, options: object): Promise<NativeIndex>;
  indexCpuToAllGpus(index: NativeIndex, options: object): Promise<NativeIndex>;
  indexGpuToCpu(index: NativeIndex): Promise<NativeIndex>;
}

/** Whether the loaded addon is the CUDA build. */
export const builtWithGpu = (): boolean => native.buildInfo().gpu;

/** The error of every GPU call but getNumGpus() in the CPU build. */
export function notBuiltWithGpu(what: string): FaissError {
  return new FaissError(
    `${what} needs a GPU: this faiss-proxy addon was built without CUDA. Build it with CUDA on a host with the ` +
      'CUDA toolkit: npm run build:native-gpu (docs/gpu.md)',
    'ERR_UNSUPPORTED',
  );
}

/** The addon's GPU functions, or ERR_UNSUPPORTED naming `what` in the CPU build. */
export function gpuAddon(what: string): NativeGpu {
  if (!builtWithGpu()) throw notBuiltWithGpu(what);
  return native as unknown as NativeGpu;
}
