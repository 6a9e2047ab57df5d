// Which indexes can filter a search with an IDSelector. FAISS 1.7.3 reads
// SearchParameters::sel in IndexFlat (L2 and inner product), the IVF scanners of
// IndexIVFFlat, IndexIVFPQ and IndexIVFScalarQuantizer, IndexScalarQuantizer,
// and the HNSW graph search (impl/HNSW.cpp); IndexIDMap / IDMap2 refuse search
// parameters, and the addon translates the selector for the index they wrap
// (search_dispatch.cc), as FAISS 1.7.4 does; IndexPreTransform hands it on.
// Every other type ignores the selector or throws: it is refused up front with
// ERR_UNSUPPORTED naming the type, never searched unfiltered.
#pragma once

#include <faiss/Index.h>

namespace fp {

// Throws ERR_UNSUPPORTED unless `index` filters a k-NN search (rangeSearch:
// false) or a range search (true) with a selector.
void requireSelectorSupport(const faiss::Index& index, bool rangeSearch);

// Whether `index` filters a k-NN search with a selector (what requireSelectorSupport
// checks, as a fact: the service hides removed ids with a selector only where it can).
bool filtersKnnSearch(const faiss::Index& index);

}  // namespace fp
