#include "hnsw_selection.h"

#include <faiss/impl/DistanceComputer.h>
#include <faiss/utils/Heap.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace fp {
namespace {

int64_t found(const int64_t* labels, int64_t k) {
  return std::count_if(labels, labels + k, [](int64_t l) { return l >= 0; });
}

// The exact k nearest selected vectors to one query; returns how many vectors the
// selector selects.
template <typename C>
int64_t exactSelected(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, const float* query, int64_t k,
                      float* distances, int64_t* labels) {
  std::unique_ptr<faiss::DistanceComputer> dis(index.storage->get_distance_computer());
  dis->set_query(query);
  faiss::heap_heapify<C>(k, distances, labels);
  int64_t selected = 0;
  for (int64_t i = 0; i < index.ntotal; i++) {
    if (!sel.is_member(i)) continue;
    selected++;
    const float d = (*dis)(i);
    if (C::cmp(distances[0], d)) faiss::heap_replace_top<C>(k, distances, labels, d, i);
  }
  faiss::heap_reorder<C>(k, distances, labels);
  return selected;
}

template <typename C>
void complete(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, int64_t n, const float* x, int64_t k,
              float* distances, int64_t* labels) {
  std::vector<int64_t> shortOnes;
  for (int64_t q = 0; q < n; q++) {
    if (found(labels + q * k, k) < k) shortOnes.push_back(q);
  }
  if (shortOnes.empty()) return;
  // The first one also counts the selection: queries that already hold every
  // selected vector (fewer than k exist) are complete.
  const int64_t q0 = shortOnes[0];
  const int64_t selected = exactSelected<C>(index, sel, x + q0 * index.d, k, distances + q0 * k, labels + q0 * k);
  const int64_t want = std::min(k, selected);
  const int64_t rest = static_cast<int64_t>(shortOnes.size());
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 1; i < rest; i++) {
    const int64_t q = shortOnes[i];
    if (found(labels + q * k, k) >= want) continue;
    exactSelected<C>(index, sel, x + q * index.d, k, distances + q * k, labels + q * k);
  }
}

}  // namespace

void completeFromSelection(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, int64_t n, const float* x,
                           int64_t k, float* distances, int64_t* labels) {
  // IndexHNSW stores inner-product similarities negated and turns them back at
  // the end; the storage's own distance computer gives them as they are.
  if (index.metric_type == faiss::METRIC_INNER_PRODUCT) {
    complete<faiss::CMin<float, int64_t>>(index, sel, n, x, k, distances, labels);
  } else {
    complete<faiss::CMax<float, int64_t>>(index, sel, n, x, k, distances, labels);
  }
}

}  // namespace fp
