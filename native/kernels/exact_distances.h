// FAISS 1.7.3's own vector distances (faiss::fvec_L2sqr, fvec_inner_product),
// bit for bit, in the shapes the addon's kernels need: several distances side
// by side, each computed with FAISS's operations in FAISS's order.
//
// Why exact rather than merely close: the kernels answer by ranking distances,
// and a distance that differs in its last bit can swap two neighbours at a
// near-tie; the kernels promise FAISS's labels and distances, ties included.
//
// FAISS compiled for AVX (scripts/build-faiss.sh) fixes the order of the sum
// (utils/distances_simd.cpp, the __AVX__ branch); exact_distances.cc states it
// once, and every shape here is that order for N pairs side by side. Whether FAISS's
// compiler fused a multiply and the add after it into one FMA changes the last
// bit, so each fusion variant is compiled, and exactDistances() picks, once per
// process and metric, the one whose every shape gives the linked FAISS's bits.
// Where none does (another FAISS build, no AVX2/FMA), every function calls
// FAISS's own per pair and `replica` is false.
#pragma once

#include <cstddef>

namespace fp {

enum class DistanceKind { kL2, kInnerProduct };

struct ExactDistances {
  // The distance from q to y.
  float (*one)(const float* q, const float* y, size_t d);
  // The distances from q to four vectors anywhere in memory (HNSW neighbours):
  // four independent chains that overlap.
  void (*four)(const float* q, const float* const y[4], size_t d, float out[4]);
  // out[j] = distance from q to row j of `rows` (n rows of d floats), for rows
  // already in cache: eight rows side by side (flat scan).
  void (*rows)(const float* q, const float* rows, size_t d, size_t n, float* out);
  // out[g][j] = distance from queries[g] to row j of `rows`, g < nqueries,
  // j < n: each row meets up to eight queries while it is in registers (IVF
  // lists, read once per eight queries that probe them).
  void (*queriesRows)(const float* const* queries, size_t nqueries, const float* rows, size_t n, size_t d,
                      float* const* out);
  // true: the replica matched the linked FAISS; false: FAISS's own function per pair.
  bool replica;
};

// The functions for `kind`, chosen and checked against the linked FAISS once per
// process (thread-safe).
const ExactDistances& exactDistances(DistanceKind kind);

}  // namespace fp
