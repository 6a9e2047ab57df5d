import { integerIn } from './is';
import { native } from './native';

/**
 * Fixes how many OpenMP threads each FAISS call uses (as faiss.omp_set_num_threads).
 * 0 restores the default, which splits the cores among the FAISS calls running at
 * the same moment so that concurrent operations do not oversubscribe the CPU.
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(integerIn(n, 'n', 0, 4096));
}

/** The fixed thread count, or the number of cores when automatic. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** FAISS version, compile options, cores seen, GPU support. */
export function buildInfo(): ReturnType<typeof native.buildInfo> {
  return native.buildInfo();
}

/** Bytes V8 accounts as external memory, every live index's size included. */
export function externalMemory(): number {
  return native.externalMemory();
}

/**
 * How long (microseconds) a one-query search may take to be run on the JS thread
 * rather than the libuv pool; 0 sends every search to the pool. Default 1000. The
 * cost is learned from the index's recent one-query searches with the same
 * settings; at most one search runs inline per event-loop turn. See docs/api.md.
 */
export function setInlineSearchBudget(microseconds: number): void {
  native.setInlineSearchBudget(integerIn(microseconds, 'microseconds', 0, 1_000_000));
}

export function getInlineSearchBudget(): number {
  return native.getInlineSearchBudget();
}

/**
 * Operations queued on the libuv pool so far, their total wait for a worker, FAISS
 * calls running now, and searches run on the JS thread instead (setInlineSearchBudget).
 */
export function poolStats(): { tasks: number; inlineSearches: number; waitSeconds: number; running: number } {
  return native.poolStats();
}
