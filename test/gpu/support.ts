// Whether the GPU tests can run here, and why not when they cannot: they need the
// addon's CUDA build (npm run build:native-gpu) and a GPU it sees. Elsewhere they
// are skipped, each suite saying so once (scripts/gpu-check.sh runs them on a GPU host).
import * as faiss from '../../lib';

export interface GpuAvailability {
  count: number;
  /** Why no GPU test runs here; undefined when they do. */
  why?: string;
}

export function gpuAvailability(): GpuAvailability {
  if (!faiss.buildInfo().gpu) return { count: 0, why: 'the addon was built without CUDA (npm run build:native-gpu builds it with)' };
  try {
    const count = faiss.getNumGpus();
    return count > 0 ? { count } : { count, why: 'CUDA sees no GPU on this machine' };
  } catch (e) {
    // The addon's message says what failed ("CUDA cannot list the GPUs: ...").
    return { count: 0, why: (e as Error).message };
  }
}

/** In a suite's before(): skips the suite, printing why, unless a GPU is there. */
export function requireGpu(ctx: Mocha.Context, suite: string): number {
  const { count, why } = gpuAvailability();
  if (why) {
    console.log(`      [skipped: ${suite}: ${why}]`);
    ctx.skip();
  }
  return count;
}

/** In a suite's before(): skips the suite, printing why, in the CUDA build (its tests are of the CPU build). */
export function requireCpuBuild(ctx: Mocha.Context, suite: string): void {
  if (faiss.buildInfo().gpu) {
    console.log(`      [skipped: ${suite}: the addon is the CUDA build; these tests are of the CPU build's refusals]`);
    ctx.skip();
  }
}
