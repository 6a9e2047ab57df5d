// Asserts which searches an own search kernel answered (kernelStats, native/kernels/stats.h):
// the kernels give FAISS's answers, so only these counters tell a kernel that runs
// from one that silently stopped applying.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';

/** The search kernels (hnswBuild counts adds). */
export type KernelName = Exclude<keyof faiss.KernelStats, 'hnswBuild'>;

export interface KernelExpectation {
  /** Searches the kernel must have answered. */
  searches: number;
  /** Searches it must have left to FAISS, by reason; reasons left out must not have moved. */
  fallbacks?: Record<string, number>;
}

/**
 * The kernels that need AVX2 and FMA (sgemm_chain.h's products, exact_distances.cc's
 * replica of FAISS's distances): a generic build (a CPU without AVX2, FMA or F16C;
 * scripts/build-faiss.sh) has neither, and the kernels built on them leave every
 * search to FAISS.
 */
const NEEDS_AVX2: ReadonlySet<KernelName> = new Set<KernelName>(['flatBatch', 'ivfScan']);

/** Whether kernel `name` can answer in this build. */
export const kernelInBuild = (name: KernelName): boolean => !NEEDS_AVX2.has(name) || faiss.buildInfo().isa !== 'generic';

/**
 * Runs `run` and asserts what kernel `name` did meanwhile (differences of kernelStats()).
 * In a build without the kernel: that it answered nothing (FAISS did; the caller
 * still compares the answers with FAISS's), whatever it counted as declined.
 */
export async function expectKernel<T>(name: KernelName, expected: KernelExpectation, run: () => Promise<T>, what: string): Promise<T> {
  const before = faiss.kernelStats()[name];
  const result = await run();
  const after = faiss.kernelStats()[name];
  if (!kernelInBuild(name)) {
    assert.equal(after.searches - before.searches, 0, `${what}: the ${name} kernel answered in a ${faiss.buildInfo().isa} build`);
    return result;
  }
  assert.equal(after.searches - before.searches, expected.searches, `${what}: searches the ${name} kernel answered`);
  const fallbacks = (s: typeof before) => s.fallbacks as Record<string, number>;
  for (const reason of Object.keys(expected.fallbacks ?? {})) assert.ok(reason in fallbacks(after), `${name} has no fallback reason ${reason}`);
  for (const reason of Object.keys(fallbacks(after))) {
    const moved = fallbacks(after)[reason] - fallbacks(before)[reason];
    assert.equal(moved, expected.fallbacks?.[reason] ?? 0, `${what}: ${name} fallbacks (${reason})`);
  }
  return result;
}
