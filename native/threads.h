// How many OpenMP threads one FAISS call may use. OpenMP's thread count is
// per-thread state, so it is set on each libuv worker right before FAISS runs.
// By default the cores are split among the FAISS calls running at that moment:
// one big batch gets every core, eight concurrent searches do not start
// eight times as many OpenMP threads as there are cores.
#pragma once

#include <cstdint>

namespace fp {

// Thread-pool accounting, for metrics: how long operations waited for a libuv
// worker, and how many FAISS calls run now.
void recordQueueWait(int64_t nanoseconds);
void recordInlineSearch();
struct PoolStats {
  uint64_t tasks;
  uint64_t inlineSearches;  // run on the JS thread instead (workers/search_inline.cc)
  double waitSeconds;
  int running;
};
PoolStats poolStats();

// The most threads setFixedThreads takes: four per core (at least 8). Every
// OpenMP thread reserves a stack (8 MiB by default), and libgomp, when it cannot
// create a thread, hangs or aborts: setNumThreads(4096) under an address-space
// limit hung the process. More threads than cores buy nothing for FAISS's
// CPU-bound loops.
int maxFixedThreads();
// 0 restores the automatic split.
void setFixedThreads(int n);
// The fixed count, or the core count when automatic.
int configuredThreads();
int coreCount();

// The threads a call that splits its work by stored vectors rather than by
// queries may use (kernels/flat_scan.h), from inside a ThreadScope: its share of
// the cores, as a ThreadScope without `useful` gets, capped by the scope's
// `rowSplitUseful`. One search on an idle process gets every core; concurrent
// ones split them.
int rowSplitThreads();

// Whether a one-query search may give part of its work to the kernels' helper
// thread (kernels/helper_thread.h): the thread count allows two and no other
// FAISS call runs now. Unlike rowSplitThreads it holds on the JS thread too: the
// helper is one thread the kernels keep, not an OpenMP team the JS thread would own.
bool oneQueryMayShare();

// Scope of one FAISS call on a worker thread. `useful` caps the team at what the
// call can use: FAISS's searches parallelise over queries, so a one-query search
// gets one thread instead of waking a team that would sit idle (measured: 25%
// slower HNSW single-query searches with a full team). `rowSplitUseful` caps a
// split by stored vectors (rowSplitThreads) the same way: a search run on the JS
// thread (workers/search_inline.cc) keeps to that one thread.
class ThreadScope {
 public:
  explicit ThreadScope(int64_t useful = INT64_MAX, int64_t rowSplitUseful = INT64_MAX);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int64_t outerRowSplitCap_;
};

}  // namespace fp
