#include "flat_scan.h"

#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <typeinfo>
#include <vector>

#include "../threads.h"
#include "exact_distances.h"
#include "flat_candidates.h"
#include "switches.h"

namespace fp {
namespace {

// A block of stored vectors small enough to stay in L2 while every query passes
// over it (this machine has 1 MiB of L2 per core).
constexpr size_t kBlockBytes = 128 * 1024;
// Below this much data per thread, starting a thread costs more than it saves.
constexpr size_t kMinBytesPerThread = 2 * 1024 * 1024;

struct Scan {
  const float* x;
  const float* xb;
  size_t d, n, ntotal, k;
  bool ip;
  const ExactDistances* distances;  // FAISS's, several rows at a time
  bool singleBest;  // L2, k = 1
  size_t keep;      // candidates per block and query: k (L2) or 2k (inner product)
  size_t blockRows;
};

// One thread's candidates (flat_candidates.h); for L2 with k = 1, its first
// smallest distance per query, in the same arrays.
void scanRows(const Scan& s, size_t row0, size_t row1, FlatCandidates& c, float* dis) {
  c.reset(s.n, s.keep);
  if (s.singleBest) {
    for (size_t q = 0; q < s.n; q++) {
      c.keys[q] = HUGE_VALF;  // FAISS's SingleBestResultHandler starts at +inf, label 0
      c.ids[q] = 0;
    }
  }
  for (size_t b0 = row0; b0 < row1; b0 += s.blockRows) {
    const size_t rows = std::min(s.blockRows, row1 - b0);
    const float* block = s.xb + b0 * s.d;
    for (size_t q = 0; q < s.n; q++) {
      const float* xq = s.x + q * s.d;
      // The first query reads the block from memory, in order, one row after the
      // other with FAISS's own function: eight rows read side by side are eight
      // interleaved streams, which this machine's memory serves 2-3 times slower
      // than one (bench:kernel-flat). The others find the block in cache.
      if (q == 0) {
        for (size_t j = 0; j < rows; j++) {
          const float* row = block + j * s.d;
          dis[j] = s.ip ? faiss::fvec_inner_product(xq, row, s.d) : faiss::fvec_L2sqr(xq, row, s.d);
        }
      } else {
        s.distances->rows(xq, block, s.d, rows, dis);
      }
      if (s.singleBest) {
        float& best = c.keys[q];
        int64_t& id = c.ids[q];
        for (size_t j = 0; j < rows; j++) {
          if (dis[j] < best) {
            best = dis[j];
            id = static_cast<int64_t>(b0 + j);
          }
        }
        continue;
      }
      float* keys = c.keysOf(q);
      float top = keys[0];
      for (size_t j = 0; j < rows; j++) {
        const float key = s.ip ? -dis[j] : dis[j];
        if (key < top) {
          c.replaceTop(q, key, static_cast<int64_t>(b0 + j));
          top = keys[0];
        }
      }
    }
  }
}

void merge(const Scan& s, const std::vector<FlatCandidates>& parts, float* distances, int64_t* labels) {
  if (!s.singleBest) {
    std::vector<const FlatCandidates*> inOrder;
    for (const auto& c : parts) inOrder.push_back(&c);
    mergeFlatCandidates(inOrder, s.n, s.k, s.ip, distances, labels);
    return;
  }
  for (size_t q = 0; q < s.n; q++) {
    float best = HUGE_VALF;
    int64_t id = 0;
    for (const auto& c : parts) {  // blocks in id order: the first smallest wins
      if (c.keys[q] < best) {
        best = c.keys[q];
        id = c.ids[q];
      }
    }
    distances[q] = best;
    labels[q] = id;
  }
}

}  // namespace

Fit flatScanFit(const faiss::Index& index, int64_t n, int64_t k) {
  if (!kernelSwitches().flatScan.load(std::memory_order_relaxed)) return Fit::kNotItsSearch;
  const auto& type = typeid(index);
  if (type != typeid(faiss::IndexFlat) && type != typeid(faiss::IndexFlatL2) && type != typeid(faiss::IndexFlatIP))
    return Fit::kNotItsSearch;
  if (n < 1 || n >= faiss::distance_compute_blas_threshold || k < 1 || index.ntotal <= 0) return Fit::kNotItsSearch;
  if (index.metric_type != faiss::METRIC_L2 && index.metric_type != faiss::METRIC_INNER_PRODUCT) return Fit::kMetric;
  return k < faiss::distance_compute_min_k_reservoir ? Fit::kAnswers : Fit::kLargeK;
}

void flatScan(const faiss::IndexFlat& index, int64_t n, const float* x, int64_t k, float* distances,
              int64_t* labels) {
  Scan s;
  s.x = x;
  s.xb = index.get_xb();
  s.d = static_cast<size_t>(index.d);
  s.n = static_cast<size_t>(n);
  s.ntotal = static_cast<size_t>(index.ntotal);
  s.k = static_cast<size_t>(k);
  s.ip = index.metric_type == faiss::METRIC_INNER_PRODUCT;
  s.distances = &exactDistances(s.ip ? DistanceKind::kInnerProduct : DistanceKind::kL2);
  s.singleBest = !s.ip && k == 1;
  s.keep = s.singleBest ? 1 : FlatCandidates::keepFor(s.k, s.ip);
  const size_t rowBytes = s.d * sizeof(float);
  s.blockRows = std::max<size_t>(8, kBlockBytes / rowBytes);

  const size_t bytes = s.ntotal * rowBytes;
  const int threads = static_cast<int>(std::clamp<size_t>(bytes / kMinBytesPerThread, 1, rowSplitThreads()));
  std::vector<FlatCandidates> parts(threads);
  std::vector<float> dis(static_cast<size_t>(threads) * s.blockRows);
  // Contiguous blocks of rows, in id order by thread number (merge relies on it).
  auto rowsOf = [&](int t) { return s.ntotal * static_cast<size_t>(t) / static_cast<size_t>(threads); };
  if (threads == 1) {
    scanRows(s, 0, s.ntotal, parts[0], dis.data());
  } else {
    // A loop, not one block per team member: every block is scanned even if
    // OpenMP starts fewer threads than asked.
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) scanRows(s, rowsOf(t), rowsOf(t + 1), parts[t], dis.data() + t * s.blockRows);
  }
  merge(s, parts, distances, labels);
}

}  // namespace fp
