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

#include <cstdint>

namespace fp {

// `index` as the HNSW index the kernel searches with FAISS's answers, or null
// when the kernel is switched off or does not cover it (then FAISS searches):
// exactly an IndexHNSWFlat over an IndexFlat (L2 or inner product), FAISS's
// default search settings (upper_beam 1, bounded queue), no neighbour codec.
const faiss::IndexHNSW* hnswSearchTarget(const faiss::Index& index);

// What IndexHNSW::search(n, x, k, distances, labels) answers, with the index's
// own efSearch. Queries run in parallel on the calling thread's OpenMP team.
void hnswSearch(const faiss::IndexHNSW& index, int64_t n, const float* x, int64_t k, float* distances,
                int64_t* labels);

}  // namespace fp
