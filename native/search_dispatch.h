// Searches an index with per-call tunables. FAISS 1.7.3's IndexIDMap refuses
// SearchParameters, so IDMap wrappers are searched the way FAISS itself does it
// (search the inner index, then translate labels), which lets nprobe / efSearch
// reach an IVF or HNSW index under an IDMap without mutating it.
//
// An index holding no vectors is answered here, without FAISS: FAISS 1.7.3's
// brute-force k-NN (knn_L2sqr / knn_inner_product, behind IndexFlat and every
// flat coarse quantizer) leaves the result arrays unwritten when there are no
// vectors and 20 or more queries (its BLAS path returns early), and answers
// label 0 at distance +inf for k = 1. Searched as they were, an empty flat index
// answered label 0, an emptied IDMap translated that label through its stale id
// table (its old ids, or a wild read: SIGSEGV), an untrained IVF scanned
// garbage list numbers (SIGABRT), and NSG and fast-scan PQ crashed on their
// empty structures. The answer is what FAISS gives for an empty HNSW, PQ or SQ
// index: every label -1, every distance the worst value for the metric.
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

// Runs the queries in blocks and stops with ERR_RESOURCE_LIMIT once the results
// found so far pass `maxResults` (range_blocks.h).
void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, float radius,
                      int64_t maxResults, faiss::RangeSearchResult* result);

}  // namespace fp
