import { integerIn, invalidParameterError, isObject, readArgument } from './is';
import { LIMITS } from './limits';
import { native, type MemoryLimits, type NativeHeap, type PoolStats, type SearchLanes } from './native';

/**
 * Fixes how many OpenMP threads each FAISS call uses (as faiss.omp_set_num_threads).
 * 0 restores the default, which splits the cores among the FAISS calls running at
 * the same moment so that concurrent operations do not oversubscribe the CPU.
 * At most 4 per core (at least 8): more is ERR_RESOURCE_LIMIT.
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(integerIn(n, 'n', 0, 2 ** 31 - 1));
}

/**
 * Caps the OpenMP threads of an add to an HNSW index (its graph's construction;
 * native/graph_adds.h), and of the add of an IVF's centroids to its HNSW
 * quantizer in train (native/quantizer_graph_adds.h): 0 (the default) leaves it an add's share of the cores,
 * as any call's; 1 links the vertices one after the other, so the same vectors
 * added in the same order to the same index make the same graph on any machine
 * (several threads link concurrently, in whichever order they get there). A
 * cluster's node (serve --cluster) sets 1: every replica must hold the same graph.
 * At most 4 per core (at least 8): more is ERR_INVALID_ARGUMENT.
 */
export function setGraphAddThreads(n: number): void {
  native.setGraphAddThreads(integerIn(n, 'n', 0, 2 ** 31 - 1));
}

/** The cap setGraphAddThreads set (0: none). */
export function getGraphAddThreads(): number {
  return native.getGraphAddThreads();
}

/**
 * Bounds what one call may allocate: a search's or range search's results and
 * temporary buffers, the tables of an index being built. A call whose estimate
 * passes it is refused with ERR_RESOURCE_LIMIT before anything is allocated.
 * Process-wide; default 1 GiB; 1 MiB .. 2^50. See docs/api.md, memory limits.
 */
export function setMemoryLimits(limits: Partial<MemoryLimits>): void {
  if (!isObject(limits)) throw invalidParameterError('limits', 'an object { perCallBytes? }', limits);
  for (const key of Object.keys(limits)) {
    if (key !== 'perCallBytes') throw invalidParameterError('limits', 'only the key perCallBytes', key);
  }
  if (limits.perCallBytes !== undefined) native.setMemoryLimits(integerIn(limits.perCallBytes, 'perCallBytes', LIMITS.perCallBytes.min, LIMITS.perCallBytes.max));
}

export function getMemoryLimits(): MemoryLimits {
  return native.getMemoryLimits();
}

/** The fixed thread count, or the number of cores when automatic. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** FAISS version, instruction set, compile options, cores seen, GPU support (docs/api.md). */
export function buildInfo(): ReturnType<typeof native.buildInfo> {
  return native.buildInfo();
}

/** Bytes V8 accounts as external memory, every live index's size included. */
export function externalMemory(): number {
  return native.externalMemory();
}

/**
 * What the C heap (glibc malloc) holds: bytes in live allocations, and freed bytes
 * it keeps for reuse; null where the C library does not report them (not glibc
 * 2.33 or later). The process's RSS counts both; a leak shows in the live bytes.
 */
export function nativeHeap(): NativeHeap | null {
  return native.nativeHeap();
}

/**
 * How long (microseconds) a one-query search may take to be run on the JS thread
 * rather than a search lane (or the libuv pool); 0 sends every search there. Default 1000. The
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
 * Threads that run searches (k-NN and range) instead of the libuv pool, and how long
 * one stays awake for the next search after its last (see docs/api.md, search
 * lanes). Defaults: one per core, 1000 µs. `threads: 0` sends searches to the libuv
 * pool like every other operation. Either field may be left out to keep it.
 */
export function setSearchLanes(settings: Partial<SearchLanes>): void {
  const [threads, spin] = readArgument('settings', () => {
    if (!isObject(settings)) throw invalidParameterError('settings', 'an object { threads?, spinMicroseconds? }', settings);
    const current = native.getSearchLanes();
    const { threads, spinMicroseconds } = settings;
    return [
      threads === undefined ? current.threads : integerIn(threads, 'threads', 0, 1024),
      spinMicroseconds === undefined ? current.spinMicroseconds : integerIn(spinMicroseconds, 'spinMicroseconds', 0, 1_000_000),
    ];
  });
  native.setSearchLanes(threads, spin);
}

export function getSearchLanes(): SearchLanes {
  return native.getSearchLanes();
}

/**
 * Operations queued so far (libuv pool and search lanes), their total wait for a
 * thread, FAISS calls running now, searches run on the JS thread instead
 * (setInlineSearchBudget), and for the search lanes: jobs run, jobs that had to wake
 * a sleeping lane, and the time lanes spent awake waiting for work.
 */
export function poolStats(): PoolStats {
  return native.poolStats();
}
