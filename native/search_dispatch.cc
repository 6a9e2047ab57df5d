#include "search_dispatch.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "kernels/flat_scan.h"
#include "kernels/hnsw_search.h"
#include "kernels/ivf_scan.h"
#include "memory_limits.h"
#include "range_blocks.h"

namespace fp {
namespace {

// Owns a chain of SearchParameters (PreTransform -> IVF). HNSW gets none: its
// efSearch is set on the index itself (IndexHandle::searchShared explains why).
struct ParamsChain {
  std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
  faiss::SearchParameters* head = nullptr;
};

faiss::SearchParameters* buildParams(const faiss::Index* index, const Tunables& t,
                                     ParamsChain& chain) {
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    auto p = std::make_unique<faiss::SearchParametersIVF>();
    p->nprobe = t.nprobe >= 0 ? t.nprobe : ivf->nprobe;
    p->max_codes = ivf->max_codes;
    chain.owned.push_back(std::move(p));
    return chain.owned.back().get();
  }
  if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
    auto* inner = buildParams(pt->index, t, chain);
    if (!inner) return nullptr;
    auto p = std::make_unique<faiss::SearchParametersPreTransform>();
    p->index_params = inner;
    chain.owned.push_back(std::move(p));
    return chain.owned.back().get();
  }
  return nullptr;  // no tunables: let FAISS use its defaults
}

// A label the inner index gave that its IDMap has no entry for would read past
// the id table: refuse rather than answer a stale id or crash.
int64_t translate(const std::vector<faiss::Index::idx_t>& idMap, int64_t label) {
  if (label < 0) return label;
  if (static_cast<uint64_t>(label) >= idMap.size())
    throw ArgumentError(code::kFaiss, "search: the wrapped index answered position " + std::to_string(label) +
                                          " but the IDMap holds " + std::to_string(idMap.size()) + " ids");
  return idMap[label];
}

// What FAISS answers for a slot with no result: label -1 and the worst distance.
void fillEmpty(const faiss::Index& index, int64_t count, float* distances, int64_t* labels) {
  const float worst = index.metric_type == faiss::METRIC_INNER_PRODUCT ? -std::numeric_limits<float>::max()
                                                                      : std::numeric_limits<float>::max();
  std::fill(distances, distances + count, worst);
  std::fill(labels, labels + count, int64_t{-1});
}

// One range search into `result`, IDMap labels translated.
void rangeSearchOnce(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, float radius,
                     faiss::RangeSearchResult* result) {
  if (index.ntotal == 0) return;  // lims stay 0: no results (see search_dispatch.h)
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    rangeSearchOnce(*m->index, t, n, x, radius, result);
    const size_t total = result->lims[result->nq];
    for (size_t i = 0; i < total; i++) result->labels[i] = translate(m->id_map, result->labels[i]);
    return;
  }
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.range_search(n, x, radius, result, params);
}

}  // namespace

void searchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x,
                 int64_t k, float* distances, int64_t* labels, FlatNorms& norms, int64_t version) {
  if (index.ntotal == 0) {
    fillEmpty(index, n * k, distances, labels);
    return;
  }
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    searchIndex(*m->index, t, n, x, k, distances, labels, norms, version);
    for (int64_t i = 0; i < n * k; i++) labels[i] = translate(m->id_map, labels[i]);
    return;
  }
  if (flatScanApplies(index, n, k)) {
    flatScan(static_cast<const faiss::IndexFlat&>(index), n, x, k, distances, labels);
    return;
  }
  if (const faiss::IndexHNSW* hnsw = hnswSearchTarget(index)) {
    hnswSearch(*hnsw, n, x, k, distances, labels);
    return;
  }
  if (usesFlatNorms(index, n)) {
    // What IndexFlat::search does for L2, with the norms from the cache.
    const auto& flat = static_cast<const faiss::IndexFlat&>(index);
    FAISS_THROW_IF_NOT(k > 0);
    faiss::knn_L2sqr(x, flat.get_xb(), flat.d, n, flat.ntotal, k, distances, labels,
                     norms.get(flat, version), nullptr);
    return;
  }
  if (ivfScanSearch(index, t.nprobe, n, x, k, distances, labels)) return;
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.search(n, x, k, distances, labels, params);
}

void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, float radius,
                      int64_t maxResults, faiss::RangeSearchResult* result) {
  rangeSearchInBlocks(n, index.ntotal, maxResults, result, [&](int64_t i0, int64_t nb, faiss::RangeSearchResult* part) {
    rangeSearchOnce(index, t, nb, x + i0 * index.d, radius, part);
  });
}

}  // namespace fp
