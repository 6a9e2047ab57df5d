// Filtered HNSW searches that come back short. FAISS's graph search with a
// selector stops after the same number of steps as an unfiltered one, and keeps
// only the selected nodes it met on the way: with a filter that keeps 1% of the
// vectors it finds a few of them, or none, and answers -1 for the rest of the k,
// although k selected vectors exist (python3-faiss 1.7.3 does the same). A user
// who asks for k gets k whenever k exist: a query that came back with fewer
// results is answered again exactly, by comparing it with every selected vector.
// Such a query is one whose selection the graph barely reaches, so the exact
// scan costs a pass over the ids plus one distance per selected vector
// (npm run bench:filtered measures both sides).
#pragma once

#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>

namespace fp {

// Results in FAISS's final form: distances as IndexHNSW::search gives them
// (L2: squared distance, smallest first; inner product: similarity, largest first).
void completeFromSelection(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, int64_t n, const float* x,
                           int64_t k, float* distances, int64_t* labels);

}  // namespace fp
