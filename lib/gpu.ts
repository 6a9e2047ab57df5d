// Python faiss's GPU functions in camelCase: getNumGpus and the cloners between the
// CPU and GPUs (StandardGpuResources: lib/gpu-resources.ts; the index classes:
// lib/gpu-indexes.ts). A GPU index is an Index (lib/faiss-index.ts): the same
// methods, promises and error codes; what FAISS's GPU code cannot do (range search,
// filtering, removing ids) is ERR_UNSUPPORTED. In the CPU build getNumGpus() is 0
// and the rest is ERR_UNSUPPORTED (lib/gpu-native.ts).
import { Index } from './faiss-index';
import { builtWithGpu, gpuAddon, type GpuMemory } from './gpu-native';
import { clonerOptions, deviceArg, type GpuClonerOptions, type GpuMultipleClonerOptions } from './gpu-options';
import { StandardGpuResources } from './gpu-resources';
import { wrapNative } from './indexes';

export type { GpuMemory } from './gpu-native';

/** GPUs CUDA sees; 0 in the CPU build and on a machine without one. ERR_GPU_DRIVER when the driver is missing or too old. */
export function getNumGpus(): number {
  return builtWithGpu() ? gpuAddon('getNumGpus').getNumGpus() : 0;
}

/** Free and total memory of each GPU, as CUDA reports them; [] in the CPU build. */
export function gpuMemory(): GpuMemory[] {
  return builtWithGpu() ? gpuAddon('gpuMemory').gpuMemory() : [];
}

/** A GPU copy of a CPU index on `device`, as faiss.index_cpu_to_gpu; the CPU index stays as it is. */
export async function indexCpuToGpu(res: StandardGpuResources, device: number, index: Index, options?: GpuClonerOptions): Promise<Index> {
  const gpu = gpuAddon('indexCpuToGpu');
  return wrapNative(
    await gpu.indexCpuToGpu(StandardGpuResources.nativeOf(res, 'res'), deviceArg(device), Index.nativeOf(index, 'index'), clonerOptions(options)),
  );
}

/** A copy on every GPU (replicas, or shards with `shard`), as faiss.index_cpu_to_all_gpus. */
export async function indexCpuToAllGpus(index: Index, options?: GpuMultipleClonerOptions): Promise<Index> {
  const gpu = gpuAddon('indexCpuToAllGpus');
  return wrapNative(await gpu.indexCpuToAllGpus(Index.nativeOf(index, 'index'), clonerOptions(options, ['shard'])));
}

/** A standard CPU copy of a GPU index, as faiss.index_gpu_to_cpu; writeIndex and serializeIndex of a GPU index write this copy. */
export async function indexGpuToCpu(index: Index): Promise<Index> {
  const gpu = gpuAddon('indexGpuToCpu');
  return wrapNative(await gpu.indexGpuToCpu(Index.nativeOf(index, 'index')));
}
