// The addon's own search of an IndexHNSWFlat: FAISS 1.7.3's algorithm over
// FAISS's own graph (faiss::HNSW's public arrays), with FAISS's answers, made
// faster where 1.7.3 is slow. FAISS computes one neighbour distance per virtual
// call, waits on memory for each vector in turn, and allocates and zeroes a
// visited table of ntotal bytes for every search call. Here a node's unvisited
// neighbours are found first and their vectors prefetched, then their distances
// are computed four at a time (kernels/exact_distances.h, bit for bit FAISS's),
// and each thread keeps its visited table between searches, tagged with a search
// number so that starting a search does not clear it. The vectors and neighbour
// lists are moved onto huge pages as the searches go (kernels/huge_pages.h).
//
// Everything else is FAISS's own semantics, step by step: greedy descent on the
// upper levels (greedy_update_nearest), then search_from_candidates on level 0
// with the candidate queue of max(efSearch, k) (HNSW::MinimaxHeap's order and
// ties), the check_relative_distance stop or the efSearch step bound, and the k
// results in FAISS's result heap, sorted the way IndexHNSW::search sorts them.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>

#include "stats.h"

namespace fp {

// Whether the kernel searches `index` with FAISS's answers (kAnswers; `index` is
// then an IndexHNSWFlat): the switch is on and `index` is exactly an
// IndexHNSWFlat (else kNotItsSearch), L2 or inner product (else kMetric), over an
// IndexFlat of its metric, with FAISS's default search settings (upper_beam 1,
// bounded queue) and no neighbour codec (else kSettings).
Fit hnswSearchFit(const faiss::Index& index);

// What IndexHNSW::search(n, x, k, distances, labels) answers, with the index's
// own efSearch. Queries run in parallel on the calling thread's OpenMP team.
// With `sel`, what it answers with SearchParametersHNSW{sel, efSearch and
// check_relative_distance the index's own} (search_dispatch.cc passes those):
// the same walk, and only the vectors `sel` selects (asked by their position
// in the graph) enter the results, the entry point included.
void hnswSearch(const faiss::IndexHNSW& index, int64_t n, const float* x, int64_t k, float* distances,
                int64_t* labels, const faiss::IDSelector* sel = nullptr);

}  // namespace fp
