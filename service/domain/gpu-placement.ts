// Where an index lives when loaded: the CPU, or one of the GPUs `serve --gpu`
// names (issue 16). The catalog keeps each index's device ("gpu:<n>"); its
// snapshots and exports stay standard CPU FAISS files (the addon writes a GPU
// index through index_gpu_to_cpu), so an index is loaded and replayed on the CPU
// and then moved to its GPU. Each GPU has its memory budget (--gpu-memory), kept
// the way --max-memory keeps RAM's: the least recently used indexes on that GPU
// are evicted (residency.ts). Searches of a GPU index are batched whatever its type
// (the addon says a GPU index gains from batching: native/index_type.cc).
import { buildInfo, getNumGpus, gpuMemory, indexCpuToGpu, StandardGpuResources } from '../../lib';
import { isBinaryIndex, type AnyIndex } from '../../lib/any-index';
import { ServiceError } from './errors';

/** A catalog device: "cpu" or "gpu:<n>". */
export type Device = string;
export const CPU: Device = 'cpu';

/** The CUDA device number of a catalog device; undefined for the CPU. */
export function gpuNumber(device: Device | undefined): number | undefined {
  const m = /^gpu:(\d+)$/.exec(device ?? CPU);
  return m ? Number(m[1]) : undefined;
}

/**
 * The factory strings FAISS 1.7.3 has a GPU version of (GpuCloner: flat, IVF flat,
 * IVF PQ, IVF scalar quantizer, also under an IDMap); the others would stay on the CPU.
 */
const GPU_FACTORY = /^(IDMap2?,)?(Flat|IVF\d+,(Flat|PQ\d+(x\d+)?|SQ(8|4|6|fp16|8_direct)))$/;

/** One GPU as operators see it (metrics, dashboard). */
export interface GpuStatus {
  device: number;
  /** Bytes of indexes on it (the addon's estimate of their device memory). */
  residentBytes: number;
  /** --gpu-memory; 0: no limit. */
  budgetBytes: number;
  /** What CUDA reports of the whole device (every process's use). */
  freeBytes: number;
  totalBytes: number;
  /** Queries searched on its indexes since start. */
  searches: number;
  indexes: number;
}

export class GpuPlacement {
  private readonly resources = new Map<number, StandardGpuResources>();
  private readonly searches = new Map<number, number>();
  private readonly unavailable = new Set<string>();

  /**
   * `devices`: serve --gpu's (none: every index on the CPU); `budgetBytes`:
   * --gpu-memory, per GPU. Throws, naming the option, when the addon has no CUDA
   * or the machine lacks a device.
   */
  constructor(
    readonly devices: readonly number[],
    readonly budgetBytes: number,
  ) {
    if (devices.length === 0) return;
    if (!buildInfo().gpu) {
      throw new Error(
        `serve --gpu ${devices.join(',')}: this faiss-proxy addon was built without CUDA; build it with npm run build:native-gpu on a host with the CUDA toolkit (docs/gpu.md)`,
      );
    }
    const count = getNumGpus();
    const missing = devices.filter((d) => d >= count);
    if (missing.length > 0) throw new Error(`serve --gpu: no GPU ${missing.join(', ')} on this machine (CUDA sees ${count})`);
    for (const d of devices) {
      this.resources.set(d, new StandardGpuResources());
      this.searches.set(d, 0);
    }
  }

  /**
   * The device a create request asks for ("cpu", "gpu" or "gpu:<n>"), as the
   * catalog keeps it; "gpu" takes the GPU whose indexes take the least memory
   * (`residentOn`). Refusals are the caller's (4xx).
   */
  resolve(requested: string | undefined, factory: string, mmap: boolean, residentOn: (device: number) => number): Device {
    if (requested === undefined || requested === CPU) return CPU;
    const m = /^gpu(?::(\d{1,4}))?$/.exec(requested);
    if (!m) throw new ServiceError('ERR_INVALID_ARGUMENT', `device must be "cpu", "gpu" or "gpu:<n>", not ${JSON.stringify(requested)}`);
    if (this.devices.length === 0) {
      const how = buildInfo().gpu
        ? 'start it with serve --gpu <devices>'
        : 'its addon was built without CUDA: build it with npm run build:native-gpu on a GPU host, then serve --gpu <devices>';
      throw new ServiceError('ERR_UNSUPPORTED', `device ${requested}: this server has no GPU (${how})`);
    }
    if (!GPU_FACTORY.test(factory)) {
      throw new ServiceError(
        'ERR_UNSUPPORTED',
        `device ${requested}: "${factory}" has no GPU version in FAISS 1.7.3; Flat, IVF<n>,Flat, IVF<n>,PQ<m> and IVF<n>,SQ<bits> do (types IndexFlatL2, IndexFlatIP, IndexIVFFlat, IndexIVFPQ), also with params.idMap`,
      );
    }
    if (mmap) throw new ServiceError('ERR_INVALID_ARGUMENT', `device ${requested}: params.mmap maps an index's lists from its file into host memory; a GPU index holds them on the GPU`);
    if (m[1] === undefined) return `gpu:${[...this.devices].sort((a, b) => residentOn(a) - residentOn(b) || a - b)[0]}`;
    const n = Number(m[1]);
    if (!this.devices.includes(n)) {
      throw new ServiceError('ERR_NO_SUCH_DEVICE', `device ${requested}: this server uses GPU ${this.devices.join(', ')} (serve --gpu)`);
    }
    return `gpu:${n}`;
  }

  /**
   * `index` (just loaded or built on the CPU) moved onto `device`, the CPU copy
   * disposed. An index whose GPU this server was not started with stays on the CPU,
   * said once in the log: its data is all there, and a GPU is not a condition of serving it.
   */
  async place(index: AnyIndex, device: Device | undefined, what: string): Promise<AnyIndex> {
    const n = gpuNumber(device);
    if (n === undefined) return index;
    const res = this.resources.get(n);
    if (!res || isBinaryIndex(index)) {
      if (!this.unavailable.has(what)) {
        this.unavailable.add(what);
        console.error(`faiss-proxy: ${what} belongs on ${device}, which this server does not use (serve --gpu ${this.devices.join(',') || 'none'}): it is served from the CPU`);
      }
      return index;
    }
    const gpu = await indexCpuToGpu(res, n, index);
    index.dispose();
    return gpu;
  }

  /** Counts `queries` searched on an index of `device` (the CPU's are not counted here). */
  noteSearch(device: Device | undefined, queries: number): void {
    const n = gpuNumber(device);
    if (n !== undefined && this.searches.has(n)) this.searches.set(n, this.searches.get(n)! + queries);
  }

  /** Each GPU of serve --gpu, with the bytes and count of its indexes (`onDevice`). */
  status(onDevice: (device: number) => { bytes: number; indexes: number }): GpuStatus[] {
    if (this.devices.length === 0) return [];
    const cuda = new Map(gpuMemory().map((m) => [m.device, m]));
    return this.devices.map((device) => {
      const { bytes, indexes } = onDevice(device);
      return {
        device,
        residentBytes: bytes,
        budgetBytes: this.budgetBytes,
        freeBytes: cuda.get(device)?.freeBytes ?? 0,
        totalBytes: cuda.get(device)?.totalBytes ?? 0,
        searches: this.searches.get(device) ?? 0,
        indexes,
      };
    });
  }
}
