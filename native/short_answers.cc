#include "short_answers.h"

#include "memory_limits.h"

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

// Queries with fewer than k results.
std::vector<int64_t> shortQueries(int64_t n, int64_t k, const int64_t* labels) {
  std::vector<int64_t> out;
  for (int64_t q = 0; q < n; q++) {
    if (found(labels + q * k, k) < k) out.push_back(q);
  }
  return out;
}

template <typename C>
void complete(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, int64_t n, const float* x, int64_t k,
              float* distances, int64_t* labels) {
  const std::vector<int64_t> shortOnes = shortQueries(n, k, labels);
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

void completeFromSelection(const faiss::IndexIVF& index, const faiss::IDSelector& sel, int64_t n, const float* x,
                           int64_t k, float* distances, int64_t* labels) {
  const std::vector<int64_t> shortOnes = shortQueries(n, k, labels);
  if (shortOnes.empty()) return;
  // Probing every list costs each query nlist coarse distances and list numbers
  // (12 bytes each) besides its row: as many queries at a time as fit in half
  // the per-call memory limit; none fitting (millions of lists with a small
  // limit), the short answers stay FAISS's.
  const int64_t perQuery = static_cast<int64_t>(index.nlist) * 12 + index.d * 4 + k * 12;
  const int64_t block = std::min<int64_t>(static_cast<int64_t>(shortOnes.size()), perCallBytes() / 2 / perQuery);
  if (block <= 0) return;
  std::vector<float> xs(block * index.d), ds(block * k);
  std::vector<int64_t> ls(block * k);
  faiss::SearchParametersIVF params;
  params.sel = const_cast<faiss::IDSelector*>(&sel);
  params.nprobe = index.nlist;
  params.max_codes = 0;  // no bound on the codes scanned
  const int64_t total = static_cast<int64_t>(shortOnes.size());
  for (int64_t i0 = 0; i0 < total; i0 += block) {
    const int64_t m = std::min(block, total - i0);
    for (int64_t i = 0; i < m; i++) std::copy_n(x + shortOnes[i0 + i] * index.d, index.d, xs.data() + i * index.d);
    index.search(m, xs.data(), k, ds.data(), ls.data(), &params);
    for (int64_t i = 0; i < m; i++) {
      std::copy_n(ds.data() + i * k, k, distances + shortOnes[i0 + i] * k);
      std::copy_n(ls.data() + i * k, k, labels + shortOnes[i0 + i] * k);
    }
  }
}

}  // namespace fp
