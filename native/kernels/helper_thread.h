// A second core for one query (kernels/ivf_scan.cc's one-query search): one
// thread the kernels keep, that takes chunks of a search's work beside the
// thread that asked.
//
// Why not OpenMP: one IVF query is ~0.1 ms of work, and an OpenMP team's end
// barrier waits for every member to arrive. With OMP_WAIT_POLICY=passive (what
// bench:faiss sets, and any loaded machine resembles) a sleeping member takes
// 6-30 us to wake on this VM, and on a busy machine it may not run for a whole
// time slice, so the split made one query slower, not faster (bench/RESULTS.md,
// bench:kernel-ivf). Here the chunks are claimed one at a time, the calling
// thread from the front and the helper from the back: the caller starts at once,
// takes every chunk the helper has not, and waits only for a chunk the helper is
// already computing; a helper that wakes late finds nothing left and costs
// nothing. The caller's chunks are always the first ones, in order, so it can
// finish each at once (an IVF scan pushes its distances into the heap as it
// computes them, as FAISS does: a separate pass over buffered distances measured
// 15% slower); only the helper's, the last ones, wait in a buffer. After its last chunk
// the helper spins briefly (kSpinMicros in helper_thread.cc) so that the next
// query of a burst finds it awake, then sleeps.
//
// One search uses the helper at a time; a search that finds it taken runs its
// chunks alone. The work must not throw and must not call back into FAISS code
// that starts OpenMP teams (the helper is no OpenMP thread).
#pragma once

#include <cstddef>

namespace fp {

// Chunks [0, chunks), each run exactly once: front(context, 0), front(context,
// 1), ... on this thread, in order, and, where `share` and the helper is free,
// back(context, chunks - 1), back(context, chunks - 2), ... on the helper.
// Returns how many chunks the front took (chunks [0, returned) ran on this
// thread); the back's have all finished, their writes visible, when it returns.
// chunks < 2^16.
size_t runChunks(size_t chunks, bool share, void (*front)(void* context, size_t chunk),
                 void (*back)(void* context, size_t chunk), void* context);

}  // namespace fp
