// Filtered searches that come back short. FAISS's search with a selector looks
// where the unfiltered search would look and keeps the selected vectors it meets
// there: an HNSW search stops after as many steps as an unfiltered one, an IVF
// search scans its nprobe lists. With a filter that keeps 1% of the vectors it
// meets a few of them, or none, and answers -1 for the rest of the k, although
// k selected vectors exist (python3-faiss 1.7.3 does the same). A user who asks
// for k gets k whenever k exist: a query that came back with fewer results is
// answered again, from every selected vector. Such a query is one whose
// selection the first search barely reached, so the second costs a pass over
// the ids plus a distance per selected vector (npm run bench:filtered measures
// both).
#pragma once

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>

namespace fp {

// HNSW: the exact k nearest selected vectors, from the graph's storage. Results
// in FAISS's final form, as IndexHNSW::search gives them (L2: squared distance,
// smallest first; inner product: similarity, largest first).
void completeFromSelection(const faiss::IndexHNSW& index, const faiss::IDSelector& sel, int64_t n, const float* x,
                           int64_t k, float* distances, int64_t* labels);

// IVF: the short queries searched again with the selector in every list
// (nprobe = nlist): exact for IVFFlat, the codes' best for IVFPQ and IVF-SQ.
void completeFromSelection(const faiss::IndexIVF& index, const faiss::IDSelector& sel, int64_t n, const float* x,
                           int64_t k, float* distances, int64_t* labels);

}  // namespace fp
