#include "batch_distances.h"

#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#ifdef __AVX__
#include <immintrin.h>
#endif

namespace fp {

#ifdef __AVX__
namespace {

// FAISS 1.7.3's AVX fvec_L2sqr / fvec_inner_product, per vector: 8 lanes
// accumulate term(x[i..i+8), y[i..i+8)) while 8 values are left, with a
// separate multiply and add (FAISS's _mm256_add_ps(acc, _mm256_mul_ps(...)), which
// GCC does not fuse); then the two halves are added, a block of 4 and a
// zero-padded remainder are folded in (there GCC fuses FAISS's multiply and add
// into an FMA where the target has one), and the 4 lanes are summed by two
// horizontal adds: ((s0 + s1) + (s2 + s3)).
template <bool IP>
inline __m256 term8(__m256 x, __m256 y) {
  const __m256 diff = IP ? x : _mm256_sub_ps(x, y);
  __m256 product = _mm256_mul_ps(diff, IP ? y : diff);
  // Rounded on its own before the addition, as in FAISS's loop: the compiler
  // must not fuse this multiply into the add that follows (it would, here).
  asm("" : "+x"(product));
  return product;
}

template <bool IP>
inline __m128 fold4(__m128 acc, __m128 x, __m128 y) {
  const __m128 a = IP ? x : _mm_sub_ps(x, y);
  const __m128 b = IP ? y : a;
#ifdef __FMA__
  return _mm_fmadd_ps(a, b, acc);
#else
  return _mm_add_ps(acc, _mm_mul_ps(a, b));
#endif
}

// The first `n` (< 4) floats of p, zero beyond: FAISS's masked_read.
inline __m128 readPartial(const float* p, size_t n) {
  alignas(16) float buf[4] = {0, 0, 0, 0};
  std::memcpy(buf, p, n * sizeof(float));
  return _mm_load_ps(buf);
}

// The 4-lane sum of one vector after its 8-lane part: halves added, tails folded.
template <bool IP>
inline __m128 finish(__m256 acc, const float* x, const float* y, size_t done, size_t d) {
  __m128 s = _mm_add_ps(_mm256_extractf128_ps(acc, 1), _mm256_castps256_ps128(acc));
  size_t rest = d - done;
  if (rest >= 4) {
    s = fold4<IP>(s, _mm_loadu_ps(x + done), _mm_loadu_ps(y + done));
    done += 4;
    rest -= 4;
  }
  if (rest > 0) s = fold4<IP>(s, readPartial(x + done, rest), readPartial(y + done, rest));
  return s;
}

// G queries (1 <= G <= 8) against one vector y: G independent chains of additions.
template <bool IP, int G>
inline void group(const float* const* x, const float* y, size_t d, float* const* out, size_t j) {
  __m256 acc[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 yi = _mm256_loadu_ps(y + i);
#pragma GCC unroll 8
    for (int g = 0; g < G; g++) acc[g] = _mm256_add_ps(acc[g], term8<IP>(_mm256_loadu_ps(x[g] + i), yi));
  }
  // hadd(hadd(s0, s1), hadd(s2, s3)) = four ((a + b) + (c + d)) sums at once;
  // hadd(hadd(s, s), s) the same sum for one.
  int g = 0;
#pragma GCC unroll 2
  for (; g + 4 <= G; g += 4) {
    const __m128 s0 = finish<IP>(acc[g], x[g], y, i, d);
    const __m128 s1 = finish<IP>(acc[g + 1], x[g + 1], y, i, d);
    const __m128 s2 = finish<IP>(acc[g + 2], x[g + 2], y, i, d);
    const __m128 s3 = finish<IP>(acc[g + 3], x[g + 3], y, i, d);
    alignas(16) float r[4];
    _mm_store_ps(r, _mm_hadd_ps(_mm_hadd_ps(s0, s1), _mm_hadd_ps(s2, s3)));
    for (int t = 0; t < 4; t++) out[g + t][j] = r[t];
  }
#pragma GCC unroll 4
  for (; g < G; g++) {
    __m128 s = finish<IP>(acc[g], x[g], y, i, d);
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    out[g][j] = _mm_cvtss_f32(s);
  }
}

template <bool IP, int G>
void groupOverVectors(const float* const* x, const float* y, size_t n, size_t d, float* const* out) {
  for (size_t j = 0; j < n; j++) group<IP, G>(x, y + j * d, d, out, j);
}

// Each pass over the vectors takes up to 8 queries, so a list is read once per 8
// queries that probe it.
template <bool IP>
void distances(const float* const* x, size_t nq, const float* y, size_t n, size_t d, float* const* out) {
  for (size_t g = 0; g < nq; g += 8) {
    switch (std::min<size_t>(8, nq - g)) {
      case 8: groupOverVectors<IP, 8>(x + g, y, n, d, out + g); break;
      case 7: groupOverVectors<IP, 7>(x + g, y, n, d, out + g); break;
      case 6: groupOverVectors<IP, 6>(x + g, y, n, d, out + g); break;
      case 5: groupOverVectors<IP, 5>(x + g, y, n, d, out + g); break;
      case 4: groupOverVectors<IP, 4>(x + g, y, n, d, out + g); break;
      case 3: groupOverVectors<IP, 3>(x + g, y, n, d, out + g); break;
      case 2: groupOverVectors<IP, 2>(x + g, y, n, d, out + g); break;
      default: groupOverVectors<IP, 1>(x + g, y, n, d, out + g); break;
    }
  }
}

// Values that make rounding differences show: mixed signs and magnitudes, so a
// fused multiply-add or another order of additions changes the last bits.
float probeValue(uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  const uint32_t r = static_cast<uint32_t>(state >> 33);
  const float mantissa = static_cast<float>(r & 0xFFFFFF) / static_cast<float>(1 << 24) - 0.5f;
  const int exponent = static_cast<int>((r >> 24) & 15) - 7;
  return std::ldexp(mantissa, exponent);
}

bool checkAgainstFaiss(size_t d, bool innerProduct) {
  // 8 + 7 + ... + 1 queries: every group size, against 3 vectors.
  constexpr size_t kQueries = 36;
  constexpr size_t kVectors = 3;
  uint64_t state = 0x9e3779b97f4a7c15ULL ^ (d * 2 + innerProduct);
  std::vector<float> x(kQueries * d), y(kVectors * d), ours(kQueries * kVectors);
  std::vector<const float*> queries(kQueries);
  std::vector<float*> out(kQueries);
  for (size_t g = 0; g < kQueries; g++) {
    queries[g] = x.data() + g * d;
    out[g] = ours.data() + g * kVectors;
  }
  for (int round = 0; round < 8; round++) {
    for (auto& v : x) v = probeValue(state);
    for (auto& v : y) v = probeValue(state);
    for (size_t g0 = 0, size = 1; size <= 8; g0 += size, size++)
      queryGroupDistances(innerProduct, queries.data() + g0, size, y.data(), kVectors, d, out.data() + g0);
    for (size_t g = 0; g < kQueries; g++) {
      for (size_t j = 0; j < kVectors; j++) {
        const float theirs = innerProduct ? faiss::fvec_inner_product(queries[g], y.data() + j * d, d)
                                          : faiss::fvec_L2sqr(queries[g], y.data() + j * d, d);
        if (std::memcmp(&theirs, &out[g][j], sizeof(float)) != 0) return false;
      }
    }
  }
  return true;
}

}  // namespace

void queryGroupDistances(bool innerProduct, const float* const* queries, size_t nqueries, const float* vectors,
                         size_t nvectors, size_t d, float* const* out) {
  if (innerProduct) {
    distances<true>(queries, nqueries, vectors, nvectors, d, out);
  } else {
    distances<false>(queries, nqueries, vectors, nvectors, d, out);
  }
}

bool distancesMatchFaiss(size_t d, bool innerProduct) {
  static std::mutex m;
  static std::map<std::pair<size_t, bool>, bool> known;
  std::lock_guard<std::mutex> lock(m);
  const auto key = std::make_pair(d, innerProduct);
  auto it = known.find(key);
  if (it == known.end()) it = known.emplace(key, d > 0 && checkAgainstFaiss(d, innerProduct)).first;
  return it->second;
}

#else  // no AVX: FAISS's SSE or plain code, which this file does not mirror

void queryGroupDistances(bool innerProduct, const float* const* queries, size_t nqueries, const float* vectors,
                         size_t nvectors, size_t d, float* const* out) {
  for (size_t g = 0; g < nqueries; g++)
    for (size_t j = 0; j < nvectors; j++)
      out[g][j] = innerProduct ? faiss::fvec_inner_product(queries[g], vectors + j * d, d)
                               : faiss::fvec_L2sqr(queries[g], vectors + j * d, d);
}

bool distancesMatchFaiss(size_t, bool) { return false; }

#endif

}  // namespace fp
