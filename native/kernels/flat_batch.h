// A flat search of a batch (20 or more queries) in one pass over the stored
// vectors, with FAISS's answers for that batch, bit for bit.
//
// FAISS 1.7.3 answers 20 or more queries on a flat index with its BLAS path: for
// each block of distance_compute_blas_database_bs stored vectors, one sgemm_
// writes every query's inner product with every vector of the block into a
// distance block, which a second pass turns into L2 distances
// (||x||^2 + ||y||^2 - 2 <x, y>) and offers to the result handler. Here the
// products come from registers: a tile of up to 32 queries by 6 to 12 stored
// vectors (kernels/sgemm_chain.h), turned into distances and compared with each
// query's current threshold while still in registers, so no distance block is
// written or read again; the blocks are split across the cores.
//
// Which answer it gives, and why FAISS's batch answer rather than its
// one-query answer: the distances of FAISS's BLAS path differ from those of its
// one-query path (another formula, another order of summation), so at near-ties
// the two paths can rank neighbours differently. The kernel answers exactly what
// FAISS answers for the same batch: the same labels in the same order and the
// same float distances, ties included. That is possible because the products
// can be reproduced bit for bit (sgemm_chain.h checks it against the linked
// sgemm_ for each d), and the rest is FAISS's own arithmetic in FAISS's order:
// the query norms by FAISS's fvec_norms_L2sqr, the stored vectors' norms from
// the cache FAISS's path is given (flat_norms.h), the same formula, and
// - k >= 2, or inner product (FAISS's HeapResultHandler): the candidates of each
//   thread's share merged by replaying FAISS's heap (flat_candidates.h);
// - L2 with k = 1 (FAISS's AVX2 override for one nearest neighbour): its eight
//   running minima per block of stored vectors, of ||y||^2 - 2 <x, y>, each
//   block's minima folded into the query's best with its own comparisons.
// The last, partial block of stored vectors is multiplied by sgemm_ itself with
// FAISS's arguments (OpenBLAS may take its small-matrix path there, which sums in
// another order), and its distances are handled as FAISS handles them.
//
// L2 with k = 1 on fewer full blocks than threads (an IVF quantizer's centroids,
// kernels/ivf_build.h): the queries are split across the threads instead of the
// blocks, and the partial block is multiplied in registers too where sgemm_ would
// take its general path for FAISS's block of queries (more than 10^6
// multiply-adds: sgemm_chain.h), its first multiple of 16 rows in the override's
// lanes, the rest one by one, as FAISS does.
//
// Anything else goes to FAISS: other index types and metrics, k >= 100 (FAISS's
// reservoir), d where the products are not a single chain (sgemm_chain.h),
// indexes smaller than one block, and a search
// whose products overflow or are NaN (found during the pass; FAISS then searches
// again from the start).
#pragma once

#include <faiss/IndexFlat.h>

#include <cstdint>

#include "stats.h"

namespace fp {

// Whether flatBatch may answer this search (kAnswers): the switch is on, `index`
// is exactly IndexFlat / IndexFlatL2 / IndexFlatIP and n >= FAISS's BLAS
// threshold (else kNotItsSearch), with the L2 or inner-product metric (else
// kMetric), 1 <= k < FAISS's reservoir size (else kLargeK), FAISS's BLAS block a
// size the kernel takes (else kSettings), at least one full block of stored
// vectors, or for L2 with k = 1 at least one vector (else kIndexSize), and the products of length d are sgemm_'s
// (sgemm_chain.h; else kProbeFailed).
Fit flatBatchFit(const faiss::Index& index, int64_t n, int64_t k);

// flatBatchFit without the switch and the type: for an index whose search is
// IndexFlat::search (kernels/ivf_build.h's k-means index, an IndexFlatL2 subclass).
Fit flatBatchFitFlat(const faiss::IndexFlat& index, int64_t n, int64_t k);

// What flatBatch allocates for a search of n queries on `threads` threads, beyond
// what FAISS's BLAS path would (search_memory.h): the packed queries, each
// thread's candidates, and for L2 with k = 1 eight lane minima per block of
// stored vectors and query (about 4 bytes per stored vector, like the norms).
int64_t flatBatchTemporaryBytes(const faiss::Index& index, int64_t n, int64_t k, int threads);

// What index.search(n, x, k, distances, labels) answers (FAISS's BLAS path;
// for L2 with the stored vectors' norms yNorms, as IndexHandle gives them to
// knn_L2sqr; null for inner product), on rowSplitThreads() threads (threads.h).
// False, with nothing written, when a product overflowed or was NaN: then FAISS
// must search.
bool flatBatch(const faiss::IndexFlat& index, int64_t n, const float* x, int64_t k, float* distances,
               int64_t* labels, const float* yNorms);

}  // namespace fp
