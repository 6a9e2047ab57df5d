// The dot products of FAISS's BLAS path, bit for bit, computed several queries
// by several stored vectors at a time in registers (kernels/flat_batch.h).
//
// For 20 or more queries FAISS 1.7.3 gets every inner product <x_i, y_j> from
// one sgemm_("Transpose", "Not transpose") per block of stored vectors. The
// OpenBLAS the addon links (Debian's 0.3.21; on this CPU its SkylakeX/Cooperlake
// kernel) computes each element of that product, on its general path, as one
// chain of fused multiply-adds over the d terms in order, starting from zero,
// then writes alpha * sum + C with C zeroed (which turns -0 into +0). Its
// "small matrix" path (TN products with M * N <= 1200 and K >= 32, M * N * K
// <= 1e6) vectorises along d instead, and products longer than its K block
// (GEMM_Q, 320 floats here) are summed in pieces: neither is a single chain, so
// flat_batch.h leaves the last, partial block of stored vectors to sgemm_
// itself, and sgemmChainMatches(d) is false for such d (then FAISS searches).
//
// Nothing here assumes that OpenBLAS's order holds for the BLAS at hand:
// sgemmChainMatches(d) computes a product of FAISS's shape with the linked
// sgemm_ and with chainTile, once per process and d, and compares the bits.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace fp {

// Whether chainTile gives the linked sgemm_'s bits for products of length d on
// its general path (checked once per d, thread-safe). False without AVX2/FMA.
bool sgemmChainMatches(size_t d);

// OpenBLAS's bound on M * N * K for its small-matrix path: a product larger than
// this is computed on the general path whatever its shape.
constexpr double kSmallMatrixBound = 1e6;

// Whether chainTile also gives the linked sgemm_'s bits for a product of length d
// just past kSmallMatrixBound by 32 queries (a shape OpenBLAS's small-matrix path
// would take below the bound): then the products of any shape past the bound are
// the chain's (checked once per d, thread-safe). False without AVX2/FMA.
bool sgemmChainMatchesPastSmall(size_t d);

// ip[q * m + j] = <x_q, y_j> for m stored vectors y and n queries x of d floats:
// the sgemm_ call of FAISS's BLAS path, with FAISS's arguments.
void sgemmLikeFaiss(const float* y, size_t m, const float* x, size_t n, size_t d, float* ip);

#if defined(__AVX2__) && defined(__FMA__)
#define FP_SGEMM_CHAIN 1

// Queries packed for chainTile: 8 * Q8 queries (a group; lanes past the group's
// queries are zero), float p of every query side by side: packed[p * 8 * Q8 + lane].
// acc[r][v] = the products of stored vector `rows + r * d` with queries 8v..8v+7
// of the group, each one FMA chain over p = 0..d-1 from zero, plus +0.
//
// `ahead` (R vectors of d floats, e.g. the next tile's) is prefetched meanwhile,
// one cache line of each vector per 16 floats of the chain: the tile reads its R
// vectors side by side, which the hardware prefetcher does not foresee, and
// from memory the products waited on every load (half the speed of the same tile
// in cache; asking for the whole next tile at once did not help).
template <int Q8, int R>
inline void chainTile(const float* packed, const float* rows, size_t d, const float* ahead, __m256 (&acc)[R][Q8]) {
#pragma GCC unroll 32
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < Q8; v++) acc[r][v] = _mm256_setzero_ps();
  for (size_t p0 = 0; p0 < d; p0 += 16) {
#pragma GCC unroll 32
    for (int r = 0; r < R; r++) _mm_prefetch(reinterpret_cast<const char*>(ahead + r * d + p0), _MM_HINT_T0);
    const size_t p1 = p0 + 16 < d ? p0 + 16 : d;
    for (size_t p = p0; p < p1; p++) {
      __m256 q[Q8];
#pragma GCC unroll 4
      for (int v = 0; v < Q8; v++) q[v] = _mm256_load_ps(packed + p * 8 * Q8 + 8 * v);
#pragma GCC unroll 32
      for (int r = 0; r < R; r++) {
        const __m256 y = _mm256_broadcast_ss(rows + r * d + p);
#pragma GCC unroll 4
        for (int v = 0; v < Q8; v++) acc[r][v] = _mm256_fmadd_ps(q[v], y, acc[r][v]);
      }
    }
  }
  // OpenBLAS stores alpha * sum + C, C = +0: the same sum, but never -0.
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 32
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < Q8; v++) acc[r][v] = _mm256_add_ps(acc[r][v], zero);
}

// The tile shapes flat_batch uses: R stored vectors by Q8 registers of queries,
// 24 accumulators or fewer (32 vector registers with AVX-512VL); and one stored
// vector for the rows a full tile does not cover.
template <int Q8>
constexpr int chainTileRows() {
  return Q8 == 4 ? 6 : Q8 == 3 ? 8 : 12;
}
#endif

}  // namespace fp
