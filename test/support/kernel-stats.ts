// Asserts which searches an own search kernel answered (kernelStats, native/kernels/stats.h):
// the kernels give FAISS's answers, so only these counters tell a kernel that runs
// from one that silently stopped applying.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
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
 * flatBatch answers only where the linked sgemm_ computes a product of length d as one
 * FMA chain (sgemm_chain.h's probe, per d), which OpenBLAS's SkylakeX kernel does for
 * every d up to 320 (Cooperlake shares it). Another core (e.g. OPENBLAS_CORETYPE=Haswell,
 * which this project's VM sets) does so for some d only: for the others flatBatch leaves
 * each search to FAISS as probeFailed.
 */
const CHAIN_CORES: ReadonlySet<string> = new Set(['SkylakeX', 'Cooperlake']);

let blasCore: string | undefined;
/** The core OpenBLAS runs in a process with this one's environment (openblas_get_corename()). */
export function openBlasCore(): string {
  blasCore ??= execFileSync(
    '/usr/bin/python3',
    ['-c', "import ctypes; b = ctypes.CDLL('libopenblas.so.0'); b.openblas_get_corename.restype = ctypes.c_char_p; print(b.openblas_get_corename().decode())"],
    { encoding: 'utf8' },
  ).trim();
  return blasCore;
}

/**
 * Runs `run` and asserts what kernel `name` did meanwhile (differences of kernelStats()).
 * In a build without the kernel: that it answered nothing (FAISS did; the caller
 * still compares the answers with FAISS's), whatever it counted as declined. flatBatch
 * under an OpenBLAS core other than CHAIN_CORES may instead leave every search it was
 * to answer to FAISS as probeFailed.
 */
export async function expectKernel<T>(name: KernelName, expected: KernelExpectation, run: () => Promise<T>, what: string): Promise<T> {
  const before = faiss.kernelStats()[name];
  const result = await run();
  const after = faiss.kernelStats()[name];
  if (!kernelInBuild(name)) {
    assert.equal(after.searches - before.searches, 0, `${what}: the ${name} kernel answered in a ${faiss.buildInfo().isa} build`);
    return result;
  }
  const answered = after.searches - before.searches;
  const fallbacks = (s: typeof before) => s.fallbacks as Record<string, number>;
  const probeFailed = fallbacks(after).probeFailed - fallbacks(before).probeFailed;
  if (name === 'flatBatch' && answered === 0 && probeFailed > (expected.fallbacks?.probeFailed ?? 0) && !CHAIN_CORES.has(openBlasCore())) {
    // This OpenBLAS sums this d otherwise: each search the kernel would take (to answer it, or
    // to find it overflows) is left to FAISS as probeFailed before it starts.
    const taken = expected.searches + (expected.fallbacks?.overflow ?? 0) + (expected.fallbacks?.probeFailed ?? 0);
    expected = { searches: 0, fallbacks: { ...expected.fallbacks, overflow: 0, probeFailed: taken } };
  }
  assert.equal(answered, expected.searches, `${what}: searches the ${name} kernel answered (OpenBLAS ${openBlasCore()})`);
  for (const reason of Object.keys(expected.fallbacks ?? {})) assert.ok(reason in fallbacks(after), `${name} has no fallback reason ${reason}`);
  for (const reason of Object.keys(fallbacks(after))) {
    const moved = fallbacks(after)[reason] - fallbacks(before)[reason];
    assert.equal(moved, expected.fallbacks?.[reason] ?? 0, `${what}: ${name} fallbacks (${reason})`);
  }
  return result;
}
