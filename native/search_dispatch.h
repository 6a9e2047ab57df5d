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
#include <faiss/impl/IDSelector.h>

#include "flat_norms.h"
#include "index_handle.h"

namespace fp {

// Whether a search of `index` hands the IVF inside it a per-call nprobe as
// SearchParameters (through IDMap, searched here, and IndexPreTransform, which
// forwards them). FAISS 1.7.3's fast-scan IVF (IndexIVFFastScan::search) and
// IndexRefine refuse SearchParameters with "search params not supported for this
// index", though Python sets nprobe on the IVF inside them: for those the IVF's
// own nprobe field is set for the call (IndexHandle::searchShared).
bool nprobeAsParams(const faiss::Index& index);

// `norms` caches a flat L2 index's vector norms for batch searches; `version` is
// the handle's version, under the lock the caller holds. `sel`, if given, limits
// the search to the ids it selects, inside FAISS's search (an index that cannot
// is refused beforehand: selector_support.h), and rows that come back short are
// completed from the selection (short_answers.h) unless `completeShort` is false
// (an inline search, which must not scan the index on the JS thread: it leaves
// them -1 and the caller queues the search instead).
void searchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x,
                 int64_t k, float* distances, int64_t* labels, FlatNorms& norms, int64_t version,
                 const faiss::IDSelector* sel = nullptr, bool completeShort = true);

// FAISS's search_and_reconstruct (the stored vectors of the results, decoded;
// NaN rows where there is no result), with the same tunables and the same
// answer for an empty index as searchIndex. Under an IndexIDMap2 the inner
// index searches and reconstructs by position and the labels are translated
// (FAISS's searches and then reconstructs by id); an IndexIDMap cannot
// reconstruct (ERR_UNSUPPORTED), as in FAISS.
void searchAndReconstructIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, int64_t k,
                               float* distances, int64_t* labels, float* vectors);

// Runs the queries in blocks and stops with ERR_RESOURCE_LIMIT once the results
// found so far pass `maxResults` (range_blocks.h).
void rangeSearchIndex(const faiss::Index& index, const Tunables& t, int64_t n, const float* x, float radius,
                      int64_t maxResults, faiss::RangeSearchResult* result, const faiss::IDSelector* sel = nullptr);

}  // namespace fp
