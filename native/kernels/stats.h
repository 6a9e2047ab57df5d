// What each of the addon's own kernels did: how many searches it answered (adds,
// for the HNSW construction), and how many of its own index type it left to
// FAISS, by reason. Without
// them no test or operator could tell a kernel that runs from one that silently
// stopped applying (a probe that fails, a check that went wrong): the answers are
// FAISS's either way. Process-wide, relaxed atomics (one increment per search).
// JS: kernelStats() (lib/kernels.ts); the service exports them as
// faiss_proxy_kernel_searches_total / faiss_proxy_kernel_fallbacks_total.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fp {

enum class Kernel : uint8_t { kFlatScan, kHnswSearch, kIvfScan, kFlatBatch, kHnswBuild };

// Whether a kernel answers a search, and if not, why. kNotItsSearch (another
// index type or batch shape, the switch off) is not counted: only what a kernel
// declines among the searches it is for.
enum class Fit : uint8_t {
  kAnswers,
  kNotItsSearch,
  kMetric,       // its index type with a metric other than L2 / inner product
  kSettings,     // index or FAISS settings it does not reproduce (kernels' headers say which)
  kLargeK,       // k >= 100: FAISS's reservoir
  kIndexSize,    // flatBatch: fewer vectors than one block of FAISS's BLAS path, or more than 2^31 - 1
  kSmallBatch,   // ivfScan: a batch with too few queries per thread to share the lists
  kDistances,    // ivfScan: exact_distances.h does not reproduce the linked FAISS's distances
  kProbeFailed,  // flatBatch: the linked sgemm_ computes the products otherwise (sgemm_chain.h)
  kOverflow,     // flatBatch: a product overflowed or was NaN during the pass; FAISS searched again
};

void countAnswer(Kernel kernel);
void countFallback(Kernel kernel, Fit why);  // nothing for kAnswers / kNotItsSearch

// Counts `fit` unless the kernel answers, and says whether it does.
inline bool kernelTakes(Kernel kernel, Fit fit) {
  if (fit == Fit::kAnswers) return true;
  countFallback(kernel, fit);
  return false;
}

// The counters by their JS names, for kernelStats(): per kernel, the reasons it
// can have, each with its count.
struct NamedKernelStats {
  std::string name;
  const char* counted;  // what it answers: "searches", or "adds" (hnswBuild)
  uint64_t searches;    // ... and how many
  std::vector<std::pair<std::string, uint64_t>> fallbacks;
};
std::vector<NamedKernelStats> namedKernelStats();

}  // namespace fp
