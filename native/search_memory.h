// What a search or range search will allocate, estimated from the index's
// structure and the call's parameters before anything is allocated, for the
// per-call memory limit (memory_limits.h). The estimates follow where FAISS
// 1.7.3 allocates (each term names it); they are upper bounds for the large
// terms (tables, queues, coarse assignments), which are what a hostile or
// mistaken call can blow up, and ignore allocations of a few kilobytes.
#pragma once

#include <faiss/Index.h>

#include <cstdint>
#include <string>

#include "tunables.h"

namespace fp {

struct SearchMemory {
  int64_t results = 0;    // the answer handed to JS
  int64_t temporary = 0;  // FAISS's buffers during the call
  int64_t total() const;
  std::string describe() const;
};

// A k-NN search of nq queries with the effective settings `t` (Tunables::effective),
// on at most `threads` OpenMP threads.
SearchMemory knnSearchMemory(const faiss::Index& index, int64_t nq, int64_t k, const Tunables& t, int threads);

// The temporary buffers of a range search of nq queries; its results are bounded
// separately as they arrive (search_dispatch.h).
int64_t rangeSearchTemporary(const faiss::Index& index, int64_t nq, const Tunables& t, int threads);

// What HNSW allocates per thread to explore its graph with a candidate list of
// `ef` (efSearch when searching, efConstruction when adding) over `ntotal`
// vectors, on `threads` threads.
int64_t hnswExploreBytes(int64_t ntotal, int64_t ef, int threads);

// FAISS 1.7.3's brute-force k-NN (knn_L2sqr / knn_inner_product, behind
// IndexFlat and faiss.knn) keeps, for k >= distance_compute_min_k_reservoir, a
// reservoir of about 2k (distance, label) pairs per query it works on: a block
// of up to distance_compute_blas_query_bs queries on the BLAS path (20 queries
// or more), one query per thread otherwise. Twice the results, on top of them.
int64_t flatReservoirBytes(int64_t nq, int64_t k, int threads);

}  // namespace fp
