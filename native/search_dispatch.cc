#include "search_dispatch.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/utils/distances.h>

#include <memory>
#include <vector>

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

int64_t translate(const std::vector<faiss::Index::idx_t>& idMap, int64_t label) {
  return label < 0 ? label : idMap[label];
}

}  // namespace

void searchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x,
                 int64_t k, float* distances, int64_t* labels, FlatNorms& norms, int64_t version) {
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    searchIndex(*m->index, t, n, x, k, distances, labels, norms, version);
    for (int64_t i = 0; i < n * k; i++) labels[i] = translate(m->id_map, labels[i]);
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
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.search(n, x, k, distances, labels, params);
}

void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n,
                      const float* x, float radius, faiss::RangeSearchResult* result) {
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    rangeSearchIndex(*m->index, t, n, x, radius, result);
    const size_t total = result->lims[result->nq];
    for (size_t i = 0; i < total; i++) result->labels[i] = translate(m->id_map, result->labels[i]);
    return;
  }
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.range_search(n, x, radius, result, params);
}

}  // namespace fp
