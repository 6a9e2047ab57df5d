#include "exact_distances.h"

#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FP_EXACT_REPLICA 1
#endif

namespace fp {
namespace {

template <DistanceKind K>
float faissOne(const float* q, const float* y, size_t d) {
  return K == DistanceKind::kL2 ? faiss::fvec_L2sqr(q, y, d) : faiss::fvec_inner_product(q, y, d);
}

template <DistanceKind K>
void faissFour(const float* q, const float* const y[4], size_t d, float out[4]) {
  for (int i = 0; i < 4; i++) out[i] = faissOne<K>(q, y[i], d);
}

template <DistanceKind K>
void faissRows(const float* q, const float* rows, size_t d, size_t n, float* out) {
  for (size_t j = 0; j < n; j++) out[j] = faissOne<K>(q, rows + j * d, d);
}

template <DistanceKind K>
void faissQueriesRows(const float* const* queries, size_t nqueries, const float* rows, size_t n, size_t d,
                      float* const* out) {
  for (size_t g = 0; g < nqueries; g++)
    for (size_t j = 0; j < n; j++) out[g][j] = faissOne<K>(queries[g], rows + j * d, d);
}

#ifdef FP_EXACT_REPLICA

// ---------------------------------------------------------------------------
// FAISS 1.7.3's order for one pair (x, y) of d floats, term(a, b) being
// (a - b)^2 for L2 and a * b for the inner product:
//   1. acc (8 lanes) += term over each full block of 8 floats;
//   2. s (4 lanes) = high half of acc + low half;
//   3. if 4 or more floats are left, s += term over the next 4;
//   4. if 1 to 3 are left, s += term over them, zero-padded to 4 (masked_read);
//   5. the result is (s0 + s1) + (s2 + s3) (two horizontal adds).
// Each "+= term" in 1 and in 3-4 is either a multiply and an add, each rounded,
// or one FMA, as FAISS's compiler chose: kLoopFused (step 1) and kTailFused
// (steps 3-4). Everything below is this order; only how many pairs share the
// registers differs. (x - y)^2 = (y - x)^2 and x * y = y * x exactly, so either
// side of a pair may be the one several pairs share.
// ---------------------------------------------------------------------------

inline __m128 add(__m128 a, __m128 b) { return _mm_add_ps(a, b); }
inline __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m128 sub(__m128 a, __m128 b) { return _mm_sub_ps(a, b); }
inline __m256 sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
inline __m128 mul(__m128 a, __m128 b) { return _mm_mul_ps(a, b); }
inline __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
inline __m128 fmadd(__m128 a, __m128 b, __m128 c) { return _mm_fmadd_ps(a, b, c); }
inline __m256 fmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }

// An empty asm the value passes through: the compiler cannot see the product it
// holds, so it cannot fuse it with the add that follows into an FMA (which
// rounds once instead of twice).
template <class V>
inline V opaque(V v) {
  __asm__("" : "+x"(v));
  return v;
}

// acc + term(a, b), fused or not.
template <DistanceKind K, bool kFused, class V>
inline V accumulate(V acc, V a, V b) {
  const V t = K == DistanceKind::kL2 ? sub(a, b) : a;
  const V u = K == DistanceKind::kL2 ? t : b;
  if constexpr (kFused) return fmadd(t, u, acc);
  return add(acc, opaque(mul(t, u)));
}

// Steps 2-4 for one pair: the 4-lane sum from the 8-lane one.
template <DistanceKind K, bool kTailFused>
inline __m128 tail(__m256 acc, const float* x, const float* y, size_t j, size_t d) {
  __m128 s = add(_mm256_extractf128_ps(acc, 1), _mm256_castps256_ps128(acc));
  if (d - j >= 4) {
    s = accumulate<K, kTailFused>(s, _mm_loadu_ps(x + j), _mm_loadu_ps(y + j));
    j += 4;
  }
  if (d > j) {
#ifdef __AVX512VL__
    const __mmask8 m = static_cast<__mmask8>((1u << (d - j)) - 1);
    s = accumulate<K, kTailFused>(s, _mm_maskz_loadu_ps(m, x + j), _mm_maskz_loadu_ps(m, y + j));
#else
    alignas(16) float bx[4] = {0, 0, 0, 0}, by[4] = {0, 0, 0, 0};
    std::memcpy(bx, x + j, (d - j) * sizeof(float));
    std::memcpy(by, y + j, (d - j) * sizeof(float));
    s = accumulate<K, kTailFused>(s, _mm_load_ps(bx), _mm_load_ps(by));
#endif
  }
  return s;
}

// N pairs (shared, others[i]), N independent chains side by side: the one shape
// behind every entry point: `one` (N = 1), `four` (a query against four
// vectors), `rows` (a query against eight rows) and `queriesRows` (a stored
// vector against up to eight queries).
template <DistanceKind K, bool kLoopFused, bool kTailFused, int N>
inline void chains(const float* shared, const float* const* others, size_t d, float* out) {
  __m256 acc[N];
#pragma GCC unroll 8
  for (int i = 0; i < N; i++) acc[i] = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m256 s = _mm256_loadu_ps(shared + j);
#pragma GCC unroll 8
    for (int i = 0; i < N; i++) acc[i] = accumulate<K, kLoopFused>(acc[i], s, _mm256_loadu_ps(others[i] + j));
  }
  // Step 5: hadd(hadd(s0, s1), hadd(s2, s3)) is four such sums at once.
  int i = 0;
#pragma GCC unroll 2
  for (; i + 4 <= N; i += 4) {
    const __m128 s0 = tail<K, kTailFused>(acc[i], shared, others[i], j, d);
    const __m128 s1 = tail<K, kTailFused>(acc[i + 1], shared, others[i + 1], j, d);
    const __m128 s2 = tail<K, kTailFused>(acc[i + 2], shared, others[i + 2], j, d);
    const __m128 s3 = tail<K, kTailFused>(acc[i + 3], shared, others[i + 3], j, d);
    _mm_storeu_ps(out + i, _mm_hadd_ps(_mm_hadd_ps(s0, s1), _mm_hadd_ps(s2, s3)));
  }
#pragma GCC unroll 4
  for (; i < N; i++) {
    __m128 s = tail<K, kTailFused>(acc[i], shared, others[i], j, d);
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    out[i] = _mm_cvtss_f32(s);
  }
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
float replicaOne(const float* q, const float* y, size_t d) {
  float out;
  chains<K, kLoopFused, kTailFused, 1>(q, &y, d, &out);
  return out;
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
void replicaFour(const float* q, const float* const y[4], size_t d, float out[4]) {
  chains<K, kLoopFused, kTailFused, 4>(q, y, d, out);
}

// G queries (1 <= G <= 8) against each of n rows.
template <DistanceKind K, bool kLoopFused, bool kTailFused, int G>
void groupOverRows(const float* const* queries, const float* rows, size_t n, size_t d, float* const* out) {
  float r[G];
  for (size_t j = 0; j < n; j++) {
    chains<K, kLoopFused, kTailFused, G>(rows + j * d, queries, d, r);
#pragma GCC unroll 8
    for (int g = 0; g < G; g++) out[g][j] = r[g];
  }
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
void replicaQueriesRows(const float* const* queries, size_t nqueries, const float* rows, size_t n, size_t d,
                        float* const* out) {
  for (size_t g = 0; g < nqueries; g += 8) {
    const float* const* q = queries + g;
    float* const* o = out + g;
    switch (std::min<size_t>(8, nqueries - g)) {
      case 8: groupOverRows<K, kLoopFused, kTailFused, 8>(q, rows, n, d, o); break;
      case 7: groupOverRows<K, kLoopFused, kTailFused, 7>(q, rows, n, d, o); break;
      case 6: groupOverRows<K, kLoopFused, kTailFused, 6>(q, rows, n, d, o); break;
      case 5: groupOverRows<K, kLoopFused, kTailFused, 5>(q, rows, n, d, o); break;
      case 4: groupOverRows<K, kLoopFused, kTailFused, 4>(q, rows, n, d, o); break;
      case 3: groupOverRows<K, kLoopFused, kTailFused, 3>(q, rows, n, d, o); break;
      case 2: groupOverRows<K, kLoopFused, kTailFused, 2>(q, rows, n, d, o); break;
      default: groupOverRows<K, kLoopFused, kTailFused, 1>(q, rows, n, d, o); break;
    }
  }
}

// Eight rows as eight chains. Two rows per 512-bit register (this module's
// predecessor for the flat scan) was slower on this machine, an AMD EPYC whose
// 512-bit operations take two 256-bit passes: the same work plus the shuffles
// that pair the rows (bench:kernel-flat).
template <DistanceKind K, bool kLoopFused, bool kTailFused>
inline void rows8(const float* x, const float* y, size_t d, float* out) {
  const float* r[8];
  for (int i = 0; i < 8; i++) r[i] = y + i * d;
  chains<K, kLoopFused, kTailFused, 8>(x, r, d, out);
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
void replicaRows(const float* q, const float* rows, size_t d, size_t n, float* out) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8) rows8<K, kLoopFused, kTailFused>(q, rows + j * d, d, out + j);
  for (; j < n; j++) out[j] = replicaOne<K, kLoopFused, kTailFused>(q, rows + j * d, d);
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
ExactDistances replicaVariant() {
  return {&replicaOne<K, kLoopFused, kTailFused>, &replicaFour<K, kLoopFused, kTailFused>,
          &replicaRows<K, kLoopFused, kTailFused>, &replicaQueriesRows<K, kLoopFused, kTailFused>, true};
}

// Values of mixed sign and magnitude, so that a fused multiply-add where FAISS
// has none (or the reverse) or another order of additions changes the last bits.
float probeValue(uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  const uint32_t r = static_cast<uint32_t>(state >> 33);
  const float mantissa = static_cast<float>(r & 0xFFFFFF) / static_cast<float>(1 << 24) - 0.5f;
  return std::ldexp(mantissa, static_cast<int>((r >> 24) & 15) - 7);
}

bool same(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Whether every shape of `candidate` gives the linked FAISS's bits. The order
// depends on d only through the number of 8-blocks, whether 4 floats follow and
// how many (0-3) after that: lengths 1..72 take every path with 0 to 9 blocks,
// and longer ones only repeat step 1, so one check per metric covers every d.
template <DistanceKind K>
bool matchesFaiss(const ExactDistances& candidate) {
  constexpr size_t kQueries = 36;  // 1 + 2 + ... + 8: every group size of queriesRows
  constexpr size_t kRows = 11;     // one block of 8 rows and a rest of 3
  std::vector<size_t> lengths;
  for (size_t d = 1; d <= 72; d++) lengths.push_back(d);
  for (size_t d : {128, 131, 256, 963}) lengths.push_back(d);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (size_t d : lengths) {
    std::vector<float> x(kQueries * d), y(kRows * d), rowOut(kRows), groupOut(kQueries * kRows);
    std::vector<const float*> queries(kQueries);
    std::vector<float*> outs(kQueries);
    for (size_t g = 0; g < kQueries; g++) {
      queries[g] = x.data() + g * d;
      outs[g] = groupOut.data() + g * kRows;
    }
    for (int round = 0; round < 2; round++) {
      for (auto& v : x) v = probeValue(state);
      for (auto& v : y) v = probeValue(state);
      for (size_t g0 = 0, size = 1; size <= 8; g0 += size, size++)
        candidate.queriesRows(queries.data() + g0, size, y.data(), kRows, d, outs.data() + g0);
      candidate.rows(x.data(), y.data(), d, kRows, rowOut.data());
      const float* four[4] = {y.data(), y.data() + 3 * d, y.data() + 9 * d, y.data() + 4 * d};
      float fourOut[4];
      candidate.four(x.data(), four, d, fourOut);
      for (int i = 0; i < 4; i++)
        if (!same(fourOut[i], faissOne<K>(x.data(), four[i], d))) return false;
      for (size_t j = 0; j < kRows; j++) {
        const float* row = y.data() + j * d;
        if (!same(rowOut[j], faissOne<K>(x.data(), row, d))) return false;
        if (!same(candidate.one(x.data(), row, d), faissOne<K>(x.data(), row, d))) return false;
        for (size_t g = 0; g < kQueries; g++)
          if (!same(outs[g][j], faissOne<K>(queries[g], row, d))) return false;
      }
    }
  }
  return true;
}

#endif  // FP_EXACT_REPLICA

template <DistanceKind K>
ExactDistances chooseFor() {
#ifdef FP_EXACT_REPLICA
  // FAISS's own build (GCC, avx512: -mavx2 -mfma ... -mavx512vl) keeps the loop's multiply and add
  // apart and fuses the tails': that variant first.
  const ExactDistances variants[] = {replicaVariant<K, false, true>(), replicaVariant<K, false, false>(),
                                     replicaVariant<K, true, true>(), replicaVariant<K, true, false>()};
  for (const auto& v : variants)
    if (matchesFaiss<K>(v)) return v;
#endif
  return {&faissOne<K>, &faissFour<K>, &faissRows<K>, &faissQueriesRows<K>, false};
}

}  // namespace

const ExactDistances& exactDistances(DistanceKind kind) {
  if (kind == DistanceKind::kL2) {
    static const ExactDistances l2 = chooseFor<DistanceKind::kL2>();
    return l2;
  }
  static const ExactDistances ip = chooseFor<DistanceKind::kInnerProduct>();
  return ip;
}

}  // namespace fp
