#include "search_dispatch.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFastScan.h>
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
#include "index_type.h"
#include "kernels/flat_batch.h"
#include "kernels/flat_scan.h"
#include "kernels/hnsw_search.h"
#include "kernels/ivf_scan.h"
#include "kernels/stats.h"
#include "memory_limits.h"
#include "range_blocks.h"
#include "selector_prefetch.h"
#include "short_answers.h"

namespace fp {
namespace {

// Owns a chain of SearchParameters (PreTransform -> IVF / HNSW / other). HNSW
// gets parameters only to carry a selector: its efSearch is set on the index
// itself (IndexHandle::searchShared explains why), and its parameters repeat it.
// An IVF that nprobeAsParams() says refuses them gets none (nor can it filter).
struct ParamsChain {
  std::vector<std::unique_ptr<faiss::SearchParameters>> owned;
  faiss::SearchParameters* head = nullptr;
};

template <typename P>
P* own(ParamsChain& chain, const faiss::IDSelector* sel) {
  auto p = std::make_unique<P>();
  // FAISS 1.7.3 declares the field non-const; it only calls is_member through it.
  p->sel = const_cast<faiss::IDSelector*>(sel);
  P* raw = p.get();
  chain.owned.push_back(std::move(p));
  return raw;
}

// `sel`, if any, goes to the innermost index (selector_support.h says which take it).
faiss::SearchParameters* buildParams(const faiss::Index* index, const Tunables& t,
                                     ParamsChain& chain, const faiss::IDSelector* sel = nullptr) {
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    if (!nprobeAsParams(*ivf)) return nullptr;
    auto* p = own<faiss::SearchParametersIVF>(chain, sel);
    p->nprobe = t.nprobe >= 0 ? t.nprobe : ivf->nprobe;
    p->max_codes = ivf->max_codes;
    return p;
  }
  if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
    auto* inner = buildParams(pt->index, t, chain, sel);
    if (!inner) return nullptr;
    auto* p = own<faiss::SearchParametersPreTransform>(chain, nullptr);
    p->index_params = inner;
    return p;
  }
  if (!sel) return nullptr;  // no tunables: let FAISS use its defaults
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
    auto* p = own<faiss::SearchParametersHNSW>(chain, sel);
    p->efSearch = hnsw->hnsw.efSearch;
    p->check_relative_distance = hnsw->hnsw.check_relative_distance;
    return p;
  }
  return own<faiss::SearchParameters>(chain, sel);
}

// A selector over an IDMap's ids, asked about the wrapped index's positions: what
// FAISS 1.7.4 does for IndexIDMap's search (1.7.3 refuses search parameters there).
struct IdMapSelector : PrefetchingSelector {
  const std::vector<faiss::Index::idx_t>& idMap;
  const faiss::IDSelector& sel;
  // The selector of ids, where it asks ahead too: prefetchNext asks for its memory of the position's id.
  const PrefetchingSelector* const ahead;
  IdMapSelector(const std::vector<faiss::Index::idx_t>& idMap, const faiss::IDSelector& sel)
      : idMap(idMap), sel(sel), ahead(prefetchingOf(&sel)) {}
  bool is_member(idx_t position) const final {
    return position >= 0 && static_cast<uint64_t>(position) < idMap.size() && sel.is_member(idMap[position]);
  }
  void prefetch(idx_t position) const final {
    if (position >= 0 && static_cast<uint64_t>(position) < idMap.size()) __builtin_prefetch(idMap.data() + position, 0, 3);
  }
  void prefetchNext(idx_t position) const final {
    if (ahead && position >= 0 && static_cast<uint64_t>(position) < idMap.size()) ahead->prefetch(idMap[position]);
  }
};

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
                     faiss::RangeSearchResult* result, const faiss::IDSelector* sel) {
  if (index.ntotal == 0) return;  // lims stay 0: no results (see search_dispatch.h)
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    if (sel) {
      const IdMapSelector positions(m->id_map, *sel);
      rangeSearchOnce(*m->index, t, n, x, radius, result, &positions);
    } else {
      rangeSearchOnce(*m->index, t, n, x, radius, result, nullptr);
    }
    const size_t total = result->lims[result->nq];
    for (size_t i = 0; i < total; i++) result->labels[i] = translate(m->id_map, result->labels[i]);
    return;
  }
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain, sel);
  index.range_search(n, x, radius, result, params);
}

}  // namespace

bool nprobeAsParams(const faiss::Index& index) {
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) return nprobeAsParams(*m->index);
  if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(&index)) return nprobeAsParams(*pt->index);
  return dynamic_cast<const faiss::IndexIVF*>(&index) && !dynamic_cast<const faiss::IndexIVFFastScan*>(&index);
}

void searchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x,
                 int64_t k, float* distances, int64_t* labels, FlatNorms& norms, int64_t version,
                 const faiss::IDSelector* sel, bool completeShort) {
  if (index.ntotal == 0) {
    fillEmpty(index, n * k, distances, labels);
    return;
  }
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    if (sel) {
      const IdMapSelector positions(m->id_map, *sel);
      searchIndex(*m->index, t, n, x, k, distances, labels, norms, version, &positions, completeShort);
      // FAISS 1.7.3's k = 1 flat handler answers position 0 at +inf when it selects
      // no row; translated, that would name the first id, one the selector left
      // out. A slot whose position the selector excludes is no result.
      for (int64_t i = 0; i < n * k; i++)
        if (labels[i] >= 0 && !positions.is_member(labels[i])) fillEmpty(index, 1, distances + i, labels + i);
    } else {
      searchIndex(*m->index, t, n, x, k, distances, labels, norms, version);
    }
    for (int64_t i = 0; i < n * k; i++) labels[i] = translate(m->id_map, labels[i]);
    return;
  }
  // A filtered search is FAISS's, but for the HNSW and IVF kernels, which filter as FAISS does.
  if (sel) {
    if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(&index)) {
      // What IndexPreTransform::search does, so that the wrapped index's short
      // answers are completed too.
      const float* xt = pt->apply_chain(n, x);
      std::unique_ptr<const float[]> owned(xt == x ? nullptr : xt);
      searchIndex(*pt->index, t, n, xt, k, distances, labels, norms, version, sel, completeShort);
      return;
    }
    // FAISS 1.7.3's flat k-NN (knn_L2sqr / knn_inner_product) narrows an
    // IDSelectorRange to the stored rows as ny = min(imax, ny) - max(imin, 0) in
    // an unsigned size: a range wholly at or past ntotal, or below 0, wraps to
    // about 2^64 rows, read past the vectors (SIGSEGV). It selects none of them.
    if (auto* range = dynamic_cast<const faiss::IDSelectorRange*>(sel);
        range && dynamic_cast<const faiss::IndexFlat*>(&index) &&
        std::min<int64_t>(range->imax, index.ntotal) < std::max<int64_t>(range->imin, 0)) {
      fillEmpty(index, n * k, distances, labels);
      return;
    }
    if (kernelTakes(Kernel::kHnswSearch, hnswSearchFit(index))) {
      hnswSearch(static_cast<const faiss::IndexHNSW&>(index), n, x, k, distances, labels, sel);
      countAnswer(Kernel::kHnswSearch);
    } else if (kernelTakes(Kernel::kIvfScan, ivfScanFit(index, t.nprobe, n, k, sel))) {
      ivfScan(static_cast<const faiss::IndexIVFFlat&>(index), t.nprobe, n, x, k, distances, labels, sel);
      countAnswer(Kernel::kIvfScan);
    } else {
      ParamsChain chain;
      index.search(n, x, k, distances, labels, buildParams(&index, t, chain, sel));
    }
    if (!completeShort) return;
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&index)) completeFromSelection(*hnsw, *sel, n, x, k, distances, labels);
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) completeFromSelection(*ivf, *sel, n, x, k, distances, labels);
    return;
  }
  // Each kernel's answers and fallbacks are counted (kernels/stats.h).
  if (kernelTakes(Kernel::kFlatScan, flatScanFit(index, n, k))) {
    flatScan(static_cast<const faiss::IndexFlat&>(index), n, x, k, distances, labels);
    countAnswer(Kernel::kFlatScan);
    return;
  }
  if (kernelTakes(Kernel::kHnswSearch, hnswSearchFit(index))) {
    hnswSearch(static_cast<const faiss::IndexHNSW&>(index), n, x, k, distances, labels);
    countAnswer(Kernel::kHnswSearch);
    return;
  }
  if (kernelTakes(Kernel::kFlatBatch, flatBatchFit(index, n, k))) {
    const auto& flat = static_cast<const faiss::IndexFlat&>(index);
    const float* yNorms = flat.metric_type == faiss::METRIC_L2 ? norms.get(flat, version) : nullptr;
    if (flatBatch(flat, n, x, k, distances, labels, yNorms)) {
      countAnswer(Kernel::kFlatBatch);
      return;
    }
    countFallback(Kernel::kFlatBatch, Fit::kOverflow);
  }
  if (usesFlatNorms(index, n)) {
    // What IndexFlat::search does for L2, with the norms from the cache.
    const auto& flat = static_cast<const faiss::IndexFlat&>(index);
    FAISS_THROW_IF_NOT(k > 0);
    faiss::knn_L2sqr(x, flat.get_xb(), flat.d, n, flat.ntotal, k, distances, labels,
                     norms.get(flat, version), nullptr);
    return;
  }
  if (kernelTakes(Kernel::kIvfScan, ivfScanFit(index, t.nprobe, n, k))) {
    ivfScan(static_cast<const faiss::IndexIVFFlat&>(index), t.nprobe, n, x, k, distances, labels);
    countAnswer(Kernel::kIvfScan);
    return;
  }
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.search(n, x, k, distances, labels, params);
}

namespace {

// FAISS's IndexIVF::search_and_reconstruct scans the lists with the scanner of
// get_InvertedListScanner and uses it unchecked; an IVF type without one (the
// fast-scan IVF, IVF<n>,PQ<M>x4fs[r]) gets none: SIGSEGV. Such an index, also
// inside IndexPreTransform (which hands the call on), is refused first.
void requireListScanner(const faiss::Index& index) {
  const faiss::Index* inner = &index;
  while (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(inner)) inner = pt->index;
  const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(inner);
  if (!ivf) return;
  std::unique_ptr<faiss::InvertedListScanner> scanner(ivf->get_InvertedListScanner(true));
  if (!scanner)
    throw ArgumentError(code::kUnsupported, "searchAndReconstruct: " + indexTypeName(*ivf) +
                                                " cannot (FAISS 1.7.3 has no list scanner for it); search, then reconstruct "
                                                "the labels after makeDirectMap()");
}

}  // namespace

void searchAndReconstructIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, int64_t k,
                               float* distances, int64_t* labels, float* vectors) {
  if (!dynamic_cast<const faiss::IndexIDMap*>(&index)) requireListScanner(index);
  if (index.ntotal == 0) {
    fillEmpty(index, n * k, distances, labels);
    std::memset(vectors, -1, sizeof(float) * n * k * index.d);  // NaN, as FAISS fills a row with no result
    return;
  }
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    // As FAISS: an IndexIDMap cannot reconstruct its vectors (its IndexIDMap2 can).
    if (!dynamic_cast<const faiss::IndexIDMap2*>(m))
      throw ArgumentError(code::kUnsupported, "IndexIDMap cannot reconstruct vectors; use IndexIDMap2");
    searchAndReconstructIndex(*m->index, t, n, x, k, distances, labels, vectors);
    for (int64_t i = 0; i < n * k; i++) labels[i] = translate(m->id_map, labels[i]);
    return;
  }
  ParamsChain chain;
  auto* params = buildParams(&index, t, chain);
  index.search_and_reconstruct(n, x, k, distances, labels, vectors, params);
}

void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, float radius,
                      int64_t maxResults, faiss::RangeSearchResult* result, const faiss::IDSelector* sel) {
  rangeSearchInBlocks(n, index.ntotal, maxResults, result, [&](int64_t i0, int64_t nb, faiss::RangeSearchResult* part) {
    rangeSearchOnce(index, t, nb, x + i0 * index.d, radius, part, sel);
  });
}

}  // namespace fp
