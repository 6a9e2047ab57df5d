#include "threads.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>

namespace fp {
namespace {

std::atomic<int> fixedThreads{0};
std::atomic<int> activeCalls{0};
std::atomic<uint64_t> queuedTasks{0};
std::atomic<uint64_t> queueWaitNs{0};
std::atomic<uint64_t> inlineSearches{0};
// The rowSplitUseful of the innermost ThreadScope on this thread; 1 outside any.
thread_local int64_t rowSplitCap = 1;

int detectCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

}  // namespace

int coreCount() {
  static const int cores = detectCores();
  return cores;
}

void recordQueueWait(int64_t nanoseconds) {
  queuedTasks++;
  queueWaitNs += static_cast<uint64_t>(std::max<int64_t>(0, nanoseconds));
}

void recordInlineSearch() { inlineSearches++; }

PoolStats poolStats() {
  return {queuedTasks.load(), inlineSearches.load(), static_cast<double>(queueWaitNs.load()) / 1e9, activeCalls.load()};
}

int maxFixedThreads() { return std::max(8, 4 * coreCount()); }

void setFixedThreads(int n) { fixedThreads = std::max(0, n); }

int configuredThreads() {
  const int fixed = fixedThreads.load();
  return fixed > 0 ? fixed : coreCount();
}

namespace {

int shareOf(int active) {
  const int fixed = fixedThreads.load();
  return fixed > 0 ? fixed : std::max(1, coreCount() / std::max(1, active));
}

}  // namespace

int rowSplitThreads() {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(shareOf(activeCalls.load()), rowSplitCap)));
}

bool oneQueryMayShare() { return coreCount() > 1 && shareOf(std::max(1, activeCalls.load())) > 1; }

ThreadScope::ThreadScope(int64_t useful, int64_t rowSplitUseful) : outerRowSplitCap_(rowSplitCap) {
  const int64_t threads = shareOf(++activeCalls);
  omp_set_num_threads(static_cast<int>(std::max<int64_t>(1, std::min(threads, useful))));
  rowSplitCap = rowSplitUseful;
}

ThreadScope::~ThreadScope() {
  rowSplitCap = outerRowSplitCap_;
  --activeCalls;
}

}  // namespace fp
