import { invalidParameterError, isObject, readArgument } from './is';
import { native, type KernelStats, type Kernels } from './native';

const KERNEL_NAMES: readonly (keyof Kernels)[] = ['flatScan', 'flatBatch', 'hnswBuild', 'hnswSearch', 'ivfScan'];

/**
 * Turns the addon's own search kernels (and its HNSW construction, hnswBuild) on
 * or off (all on by default), for the comparison with FAISS's own code;
 * process-wide. Each kernel gives FAISS's own answers and runs only where it can
 * (docs/api.md, "Own search kernels"). Keys left out keep their setting; an
 * unknown key or a value that is not a boolean is ERR_INVALID_ARGUMENT, and then
 * nothing changes.
 */
export function setKernels(settings: Partial<Kernels>): void {
  const entries = readArgument('settings', () => {
    if (!isObject(settings)) throw invalidParameterError('settings', `an object { ${KERNEL_NAMES.join('?, ')}? }`, settings);
    return Object.keys(settings).map((key): [keyof Kernels, boolean] => {
      if (!(KERNEL_NAMES as readonly string[]).includes(key)) {
        throw invalidParameterError('settings', `only the keys ${KERNEL_NAMES.join(', ')}`, key);
      }
      const on = settings[key as keyof Kernels];
      if (typeof on !== 'boolean') throw invalidParameterError(`settings.${key}`, 'a boolean', on);
      return [key as keyof Kernels, on];
    });
  });
  for (const [name, on] of entries) native.setKernel(name, on);
}

/** Which of the addon's own kernels are on. */
export function getKernels(): Kernels {
  return native.getKernels();
}

/**
 * What each kernel did since the process started: the searches it answered, and
 * the searches of its own kind it left to FAISS, by reason (docs/api.md,
 * "kernelStats()"). Process-wide counters; take the difference of two readings.
 */
export function kernelStats(): KernelStats {
  return native.kernelStats();
}
