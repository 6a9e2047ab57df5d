// A second core for one query (kernels/ivf_scan.cc's one-query search): one
// thread the kernels keep, that takes chunks of a search's work beside the
// thread that asked.
//
// Why not OpenMP: one IVF query is ~0.1 ms of work, and an OpenMP team's end
// barrier waits for every member to arrive. With OMP_WAIT_POLICY=passive (what
// bench:faiss sets, and any loaded machine resembles) a sleeping member takes
// 6-30 us to wake on this VM, and on a busy machine it may not run for a whole
// time slice, so the split made one query slower, not faster (bench/RESULTS.md,
// bench:kernel-ivf). Here the chunks are claimed one at a time from a shared
// counter: the calling thread starts at once and takes every chunk the helper
// has not, and waits only for a chunk the helper is already computing. A helper
// that wakes late finds nothing left and costs nothing. After its last chunk
// the helper spins briefly (kSpinMicros in helper_thread.cc) so that the next
// query of a burst finds it awake, then sleeps.
//
// One search uses the helper at a time; a search that finds it taken runs its
// chunks alone. The work must not throw and must not call back into FAISS code
// that starts OpenMP teams (the helper is no OpenMP thread).
#pragma once

#include <cstddef>

namespace fp {

// Runs work(context, i) for every i in [0, chunks), each exactly once, on this
// thread and, where `share` and the helper is free, on the helper too; returns
// when all are done (their writes visible to the caller). chunks < 2^16.
void runChunks(size_t chunks, bool share, void (*work)(void* context, size_t chunk), void* context);

}  // namespace fp
