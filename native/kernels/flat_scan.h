// One flat search of a few queries split across the cores by stored vectors.
//
// FAISS 1.7.3 answers fewer than distance_compute_blas_threshold (20) queries on
// a flat index by scanning every stored vector for each query, and parallelises
// over the queries only: one query runs on one core, and n queries read the
// whole index n times. Here each thread scans its own contiguous block of the
// stored vectors for every query (a block of rows stays in cache while all the
// queries pass over it), keeps its own candidates per query, and the candidates
// are merged into exactly FAISS's answer, ties included:
//
// - L2, k = 1 (FAISS's SingleBestResultHandler): the first smallest distance
//   below +inf, else label 0 at +inf. Each block keeps its first smallest; the
//   blocks are merged in order with the same strict comparison.
// - 1 <= k < distance_compute_min_k_reservoir (FAISS's HeapResultHandler): each
//   block keeps its k (L2) or 2k (inner product) best, and FAISS's heap is
//   replayed over them in id order (kernels/flat_candidates.h says why that is
//   FAISS's answer, ties included).
//
// Anything else (k >= 100: FAISS's reservoir, whose tie choices depend on when
// it shrinks; 20 or more queries: kernels/flat_batch.h or FAISS's BLAS path;
// other metrics, subclasses, an IDSelector) is left to FAISS.
//
// Distances: kernels/exact_distances.h, the same floats as FAISS's.
#pragma once

#include <faiss/IndexFlat.h>

#include <cstdint>

#include "stats.h"

namespace fp {

// Whether flatScan gives this search's answer (kAnswers): the switch is on,
// `index` is exactly IndexFlat / IndexFlatL2 / IndexFlatIP (else kNotItsSearch)
// with the L2 or inner-product metric (else kMetric), 1 <= n < FAISS's BLAS
// threshold (else kNotItsSearch: flatBatch's or FAISS's) and 1 <= k < FAISS's
// reservoir size (else kLargeK).
Fit flatScanFit(const faiss::Index& index, int64_t n, int64_t k);

// What index.search(n, x, k, distances, labels) answers, on rowSplitThreads()
// threads (threads.h) where the index is large enough to be worth splitting.
void flatScan(const faiss::IndexFlat& index, int64_t n, const float* x, int64_t k, float* distances,
              int64_t* labels);

}  // namespace fp
