#include "binary_search.h"

#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexBinaryIVF.h>

#include <algorithm>
#include <limits>

#include "memory_limits.h"
#include "range_blocks.h"

namespace fp {
namespace {

constexpr int64_t kDistance = 4;
constexpr int64_t kLabel = 8;

int64_t temporary(const faiss::IndexBinary& index, int64_t nq, int64_t k, const Tunables& t, int threads) {
  if (auto* ivf = dynamic_cast<const faiss::IndexBinaryIVF*>(&index)) {
    // IndexBinaryIVF::search: the coarse assignment (nq x nprobe labels and
    // distances, nprobe at most nlist), the quantizer's own search for it, and a
    // heap of k per thread.
    const int64_t nlist = static_cast<int64_t>(ivf->nlist);
    const int64_t nprobe = std::min<int64_t>(t.nprobe > 0 ? t.nprobe : static_cast<int64_t>(ivf->nprobe), nlist);
    int64_t bytes = mulBytes(mulBytes(nq, nprobe), kDistance + kLabel);
    bytes = addBytes(bytes, temporary(*ivf->quantizer, nq, nprobe, Tunables{}, threads));
    return addBytes(bytes, mulBytes(threads, mulBytes(k, kDistance + kLabel)));
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexBinaryHNSW*>(&index)) {
    const int64_t ef = std::max<int64_t>(t.efSearch > 0 ? t.efSearch : hnsw->hnsw.efSearch, k);
    return hnswExploreBytes(index.ntotal, ef, threads);
  }
  // IndexBinaryFlat: its heaps are the result arrays; a block of 32 queries at a time.
  return mulBytes(threads, 4096);
}

void fillEmpty(int64_t count, int32_t* distances, int64_t* labels) {
  std::fill(distances, distances + count, std::numeric_limits<int32_t>::max());
  std::fill(labels, labels + count, int64_t{-1});
}

}  // namespace

void searchBinaryIndex(const faiss::IndexBinary& index, int64_t n, const uint8_t* x, int64_t k, int32_t* distances,
                       int64_t* labels) {
  if (index.ntotal == 0) return fillEmpty(n * k, distances, labels);
  index.search(n, x, k, distances, labels);
}

void rangeSearchBinaryIndex(const faiss::IndexBinary& index, int64_t n, const uint8_t* x, int radius,
                            int64_t maxResults, faiss::RangeSearchResult* result) {
  if (index.ntotal == 0) return;  // lims stay 0: no results
  rangeSearchInBlocks(n, index.ntotal, maxResults, result, [&](int64_t i0, int64_t nb, faiss::RangeSearchResult* part) {
    index.range_search(nb, x + i0 * index.code_size, radius, part);
  });
}

SearchMemory binaryKnnSearchMemory(const faiss::IndexBinary& index, int64_t nq, int64_t k, const Tunables& t,
                                   int threads) {
  SearchMemory m;
  m.results = mulBytes(mulBytes(nq, k), kDistance + kLabel);
  m.temporary = temporary(index, nq, k, t, std::max(1, threads));
  return m;
}

int64_t binaryRangeSearchTemporary(const faiss::IndexBinary& index, int64_t nq, const Tunables& t, int threads) {
  return temporary(index, nq, 1, t, std::max(1, threads));
}

}  // namespace fp
