#include "selector_support.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexScalarQuantizer.h>

#include <string>
#include <typeinfo>

#include "coded_error.h"
#include "index_type.h"

namespace fp {
namespace {

// The exact classes: a subclass (IndexFlat1D, IndexIVFPQR, IndexHNSW2Level, ...)
// searches with its own code, which may not read the selector.
template <typename... T>
bool isOneOf(const faiss::Index& index) {
  const auto& type = typeid(index);
  return ((type == typeid(T)) || ...);
}

bool filtersKnn(const faiss::Index& index) {
  if (isOneOf<faiss::IndexFlat, faiss::IndexFlatL2, faiss::IndexFlatIP>(index))
    return index.metric_type == faiss::METRIC_L2 || index.metric_type == faiss::METRIC_INNER_PRODUCT;
  // A graph read from a file with upper_beam > 1 is searched by a path of
  // HNSW::search that passes no parameters, so no selector, to its last level.
  if (isOneOf<faiss::IndexHNSWFlat, faiss::IndexHNSWSQ, faiss::IndexHNSWPQ>(index))
    return static_cast<const faiss::IndexHNSW&>(index).hnsw.upper_beam == 1;
  return isOneOf<faiss::IndexIVFFlat, faiss::IndexIVFPQ, faiss::IndexIVFScalarQuantizer, faiss::IndexScalarQuantizer>(index);
}

// FAISS 1.7.3 range-searches with a selector in IndexFlat and IndexIVF only
// (IndexHNSW and IndexScalarQuantizer have no range search at all).
bool filtersRange(const faiss::Index& index) {
  if (isOneOf<faiss::IndexFlat, faiss::IndexFlatL2, faiss::IndexFlatIP>(index))
    return index.metric_type == faiss::METRIC_L2 || index.metric_type == faiss::METRIC_INNER_PRODUCT;
  return isOneOf<faiss::IndexIVFFlat, faiss::IndexIVFPQ, faiss::IndexIVFScalarQuantizer>(index);
}

// The index that does the filtering: through IDMaps (which translate the
// selector) and pre-transforms (which hand it on).
const faiss::Index* filteringIndex(const faiss::Index& index) {
  const faiss::Index* inner = &index;
  for (;;) {
    if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(inner)) {
      inner = m->index;
    } else if (auto* p = dynamic_cast<const faiss::IndexPreTransform*>(inner)) {
      inner = p->index;
    } else {
      return inner;
    }
  }
}

}  // namespace

bool filtersKnnSearch(const faiss::Index& index) { return filtersKnn(*filteringIndex(index)); }

void requireSelectorSupport(const faiss::Index& index, bool rangeSearch) {
  const faiss::Index* inner = filteringIndex(index);
  if (rangeSearch ? filtersRange(*inner) : filtersKnn(*inner)) return;
  const std::string name = indexTypeName(*inner);
  const std::string where = inner == &index ? name : name + " (inside " + indexTypeName(index) + ")";
  throw ArgumentError(code::kUnsupported,
                      (rangeSearch ? "rangeSearch" : "search") + std::string(": ") + where +
                          " cannot filter with an IDSelector (FAISS 1.7.3 filters " +
                          (rangeSearch ? "range searches of IndexFlat and IndexIVFFlat/PQ/ScalarQuantizer"
                                       : "searches of IndexFlat, IndexIVFFlat/PQ/ScalarQuantizer, IndexHNSWFlat/SQ/PQ "
                                         "and IndexScalarQuantizer") +
                          ", also inside IndexIDMap, IndexIDMap2 and IndexPreTransform)");
}

}  // namespace fp
