// Searches an index with per-call tunables. FAISS 1.7.3's IndexIDMap refuses
// SearchParameters, so IDMap wrappers are searched the way FAISS itself does it
// (search the inner index, then translate labels), which lets nprobe / efSearch
// reach an IVF or HNSW index under an IDMap without mutating it.
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/AuxIndexStructures.h>

#include "flat_norms.h"
#include "index_handle.h"

namespace fp {

// `norms` caches a flat L2 index's vector norms for batch searches; `version` is
// the handle's version, under the lock the caller holds.
void searchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x,
                 int64_t k, float* distances, int64_t* labels, FlatNorms& norms, int64_t version);

void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n,
                      const float* x, float radius, faiss::RangeSearchResult* result);

}  // namespace fp
