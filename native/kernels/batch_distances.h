// Distances from several queries to a run of contiguous vectors, each bit for bit
// the value FAISS's own faiss::fvec_L2sqr or faiss::fvec_inner_product gives for
// that pair.
//
// FAISS 1.7.3 computes one pair at a time, and an IVF batch reads each list once
// per query that probes it. Here up to eight queries meet each vector while it is
// in registers, each pair with exactly FAISS's operations in FAISS's order (the
// same 8 lanes, the same roundings, the same final reduction): only the
// interleaving differs, so every distance is identical. (Several *vectors* per
// query side by side would be the other way to interleave; on this machine that
// read pattern defeats the hardware prefetcher and scans slower than FAISS.)
//
// That identity depends on how this FAISS build was compiled (which of its
// additions the compiler fused into FMAs), so it is checked, not assumed:
// distancesMatchFaiss() compares this code with FAISS's functions, once per
// dimension and metric, and a caller uses it only where they agree.
#pragma once

#include <cstddef>

namespace fp {

// Whether queryGroupDistances gives exactly FAISS's values for dimension `d`
// (checked on first use for each d and metric, then remembered); false where
// this build has no such code (an instruction set below AVX).
bool distancesMatchFaiss(size_t d, bool innerProduct);

// For g < count of queries and j < nvectors:
// out[g][j] = fvec_L2sqr(queries[g], vectors + j * d, d) (or fvec_inner_product).
void queryGroupDistances(bool innerProduct, const float* const* queries, size_t nqueries, const float* vectors,
                         size_t nvectors, size_t d, float* const* out);

}  // namespace fp
