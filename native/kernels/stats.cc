#include "stats.h"

#include <atomic>
#include <cstddef>

namespace fp {
namespace {

constexpr size_t kKernels = 5;
constexpr size_t kFits = static_cast<size_t>(Fit::kOverflow) + 1;

// One cache line per kernel: searches on different cores count different kernels
// without sharing a line.
struct alignas(64) Counters {
  std::atomic<uint64_t> searches{0};
  std::atomic<uint64_t> fallbacks[kFits] = {};
};

Counters counters[kKernels];

struct Reason {
  Fit fit;
  const char* name;
};

struct Described {
  Kernel kernel;
  const char* name;
  const char* counted;
  std::vector<Reason> reasons;  // what the kernel can decline for (its Fit functions)
};

const std::vector<Described>& described() {
  static const std::vector<Described> all = {
      {Kernel::kFlatScan, "flatScan", "searches", {{Fit::kMetric, "metric"}, {Fit::kLargeK, "largeK"}}},
      {Kernel::kHnswSearch, "hnswSearch", "searches", {{Fit::kMetric, "metric"}, {Fit::kSettings, "settings"}}},
      {Kernel::kIvfScan, "ivfScan", "searches", {{Fit::kMetric, "metric"}, {Fit::kSettings, "settings"}, {Fit::kDistances, "distances"}, {Fit::kSmallBatch, "smallBatch"}}},
      {Kernel::kFlatBatch,
       "flatBatch",
       "searches",
       {{Fit::kMetric, "metric"},
        {Fit::kSettings, "settings"},
        {Fit::kLargeK, "largeK"},
        {Fit::kIndexSize, "indexSize"},
        {Fit::kProbeFailed, "probeFailed"},
        {Fit::kOverflow, "overflow"}}},
      {Kernel::kHnswBuild, "hnswBuild", "adds", {{Fit::kMetric, "metric"}, {Fit::kSettings, "settings"}}},
  };
  return all;
}

Counters& of(Kernel kernel) { return counters[static_cast<size_t>(kernel)]; }

}  // namespace

void countAnswer(Kernel kernel) { of(kernel).searches.fetch_add(1, std::memory_order_relaxed); }

void countFallback(Kernel kernel, Fit why) {
  if (why == Fit::kAnswers || why == Fit::kNotItsSearch) return;
  of(kernel).fallbacks[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed);
}

std::vector<NamedKernelStats> namedKernelStats() {
  std::vector<NamedKernelStats> out;
  for (const Described& d : described()) {
    const Counters& c = of(d.kernel);
    NamedKernelStats s{d.name, d.counted, c.searches.load(std::memory_order_relaxed), {}};
    for (const Reason& r : d.reasons)
      s.fallbacks.emplace_back(r.name, c.fallbacks[static_cast<size_t>(r.fit)].load(std::memory_order_relaxed));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace fp
