#include "flat_candidates.h"

#include <faiss/utils/Heap.h>

#include <algorithm>
#include <utility>

namespace fp {
namespace {

using MaxHeap = faiss::CMax<float, int64_t>;
using MinHeap = faiss::CMin<float, int64_t>;

// FAISS's HeapResultHandler over the candidates, in id order: begin, add_result
// for each, end (faiss/impl/ResultHandler.h).
template <class C>
void replay(const std::vector<std::pair<int64_t, float>>& candidates, size_t k, float* distances, int64_t* labels) {
  faiss::heap_heapify<C>(k, distances, labels);
  for (const auto& [id, dis] : candidates) {
    if (C::cmp(distances[0], dis)) faiss::heap_replace_top<C>(k, distances, labels, dis, id);
  }
  faiss::heap_reorder<C>(k, distances, labels);
}

}  // namespace

void FlatCandidates::reset(size_t n, size_t keepPerQuery) {
  keep = keepPerQuery;
  keys.resize(n * keep);
  ids.resize(n * keep);
  for (size_t q = 0; q < n; q++) faiss::heap_heapify<MaxHeap>(keep, keysOf(q), idsOf(q));
}

void FlatCandidates::replaceTop(size_t q, float key, int64_t id) {
  faiss::heap_replace_top<MaxHeap>(keep, keysOf(q), idsOf(q), key, id);
}

void mergeFlatCandidates(const std::vector<const FlatCandidates*>& parts, size_t n, size_t k, bool innerProduct,
                         float* distances, int64_t* labels) {
  std::vector<std::pair<int64_t, float>> candidates;
  for (size_t q = 0; q < n; q++) {
    candidates.clear();
    for (const FlatCandidates* c : parts) {
      const size_t begin = candidates.size();
      for (size_t i = q * c->keep; i < (q + 1) * c->keep; i++) {
        if (c->ids[i] >= 0) candidates.emplace_back(c->ids[i], innerProduct ? -c->keys[i] : c->keys[i]);
      }
      std::sort(candidates.begin() + begin, candidates.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    if (innerProduct) {
      replay<MinHeap>(candidates, k, distances + q * k, labels + q * k);
    } else {
      replay<MaxHeap>(candidates, k, distances + q * k, labels + q * k);
    }
  }
}

}  // namespace fp
