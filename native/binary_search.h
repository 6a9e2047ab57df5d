// Searching a binary index, and what it allocates. FAISS 1.7.3's binary indexes
// take no search parameters: the handle sets nprobe / efSearch in the FAISS object
// first (HandleCore::searchShared), so these call FAISS's own search as it is.
//
// An index holding no vectors (new, reset, emptied, or an untrained IVF) is
// answered here without FAISS, as search_dispatch.h does for float indexes: every
// label -1, every distance INT32_MAX (what FAISS's Hamming heaps hold for an
// empty slot).
#pragma once

#include <faiss/IndexBinary.h>
#include <faiss/impl/AuxIndexStructures.h>

#include <cstdint>

#include "search_memory.h"
#include "tunables.h"

namespace fp {

void searchBinaryIndex(const faiss::IndexBinary& index, int64_t n, const uint8_t* x, int64_t k, int32_t* distances,
                       int64_t* labels);

// In blocks, stopping with ERR_RESOURCE_LIMIT past `maxResults` (range_blocks.h).
void rangeSearchBinaryIndex(const faiss::IndexBinary& index, int64_t n, const uint8_t* x, int radius,
                            int64_t maxResults, faiss::RangeSearchResult* result);

// A k-NN search of nq queries with the effective settings `t`, on at most
// `threads` OpenMP threads: results (nq x k int32 distances and int64 labels) and
// FAISS's buffers (IVF: the coarse assignment; HNSW: candidate lists and a
// visited table per thread).
SearchMemory binaryKnnSearchMemory(const faiss::IndexBinary& index, int64_t nq, int64_t k, const Tunables& t,
                                   int threads);
// The temporary buffers of a range search; its results are bounded as they arrive.
int64_t binaryRangeSearchTemporary(const faiss::IndexBinary& index, int64_t nq, const Tunables& t, int threads);

}  // namespace fp
