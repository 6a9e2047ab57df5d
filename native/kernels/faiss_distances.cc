#include "faiss_distances.h"

#include <faiss/utils/distances.h>

#include <cstring>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FP_DISTANCE_REPLICA 1
#endif

namespace fp {
namespace {

float faissL2(const float* q, const float* y, size_t d) { return faiss::fvec_L2sqr(q, y, d); }
float faissIp(const float* q, const float* y, size_t d) { return faiss::fvec_inner_product(q, y, d); }

template <Distance1Fn F>
void faissFour(const float* q, const float* const y[4], size_t d, float out[4]) {
  for (int i = 0; i < 4; i++) out[i] = F(q, y[i], d);
}

#ifdef FP_DISTANCE_REPLICA

// An empty asm the value passes through: the compiler cannot see the product
// it holds, so it cannot fuse it with the add that follows into an FMA (which
// rounds once instead of twice and would change the result).
inline __m256 opaque(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}
inline __m128 opaque(__m128 v) {
  __asm__("" : "+x"(v));
  return v;
}

// acc + term(q, y), the way FAISS's loop body computes it: L2 squares q - y,
// inner product multiplies q by y.
template <DistanceKind K, bool kFused>
inline __m256 accumulate(__m256 acc, __m256 q, __m256 y) {
  const __m256 a = K == DistanceKind::kL2 ? _mm256_sub_ps(q, y) : q;
  const __m256 b = K == DistanceKind::kL2 ? a : y;
  if constexpr (kFused) return _mm256_fmadd_ps(a, b, acc);
  return _mm256_add_ps(acc, opaque(_mm256_mul_ps(a, b)));
}
template <DistanceKind K, bool kFused>
inline __m128 accumulate(__m128 acc, __m128 q, __m128 y) {
  const __m128 a = K == DistanceKind::kL2 ? _mm_sub_ps(q, y) : q;
  const __m128 b = K == DistanceKind::kL2 ? a : y;
  if constexpr (kFused) return _mm_fmadd_ps(a, b, acc);
  return _mm_add_ps(acc, opaque(_mm_mul_ps(a, b)));
}

// The last 1 to 3 floats, the rest zero (FAISS's masked_read).
inline __m128 readPartial(const float* p, size_t r) {
#ifdef __AVX512VL__
  return _mm_maskz_loadu_ps(static_cast<__mmask8>((1u << r) - 1), p);
#else
  alignas(16) float buf[4] = {0, 0, 0, 0};
  std::memcpy(buf, p, r * sizeof(float));
  return _mm_load_ps(buf);
#endif
}

// N distances, each computed exactly as FAISS computes one; the N chains are
// independent, so they run side by side.
template <DistanceKind K, bool kLoopFused, bool kTailFused, int N>
inline void replica(const float* q, const float* const* y, size_t d, float* out) {
  __m256 acc[N];
  for (int i = 0; i < N; i++) acc[i] = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m256 mq = _mm256_loadu_ps(q + j);
    for (int i = 0; i < N; i++) acc[i] = accumulate<K, kLoopFused>(acc[i], mq, _mm256_loadu_ps(y[i] + j));
  }
  __m128 sum[N];
  for (int i = 0; i < N; i++) sum[i] = _mm_add_ps(_mm256_extractf128_ps(acc[i], 1), _mm256_castps256_ps128(acc[i]));
  if (d - j >= 4) {
    const __m128 mq = _mm_loadu_ps(q + j);
    for (int i = 0; i < N; i++) sum[i] = accumulate<K, kTailFused>(sum[i], mq, _mm_loadu_ps(y[i] + j));
    j += 4;
  }
  if (d > j) {
    const __m128 mq = readPartial(q + j, d - j);
    for (int i = 0; i < N; i++) sum[i] = accumulate<K, kTailFused>(sum[i], mq, readPartial(y[i] + j, d - j));
  }
  for (int i = 0; i < N; i++) {
    __m128 s = _mm_hadd_ps(sum[i], sum[i]);
    s = _mm_hadd_ps(s, s);
    out[i] = _mm_cvtss_f32(s);
  }
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
float replicaOne(const float* q, const float* y, size_t d) {
  float out;
  replica<K, kLoopFused, kTailFused, 1>(q, &y, d, &out);
  return out;
}
template <DistanceKind K, bool kLoopFused, bool kTailFused>
void replicaFour(const float* q, const float* const y[4], size_t d, float out[4]) {
  replica<K, kLoopFused, kTailFused, 4>(q, y, d, out);
}

template <DistanceKind K, bool kLoopFused, bool kTailFused>
ExactDistances replicaVariant() {
  return {&replicaFour<K, kLoopFused, kTailFused>, &replicaOne<K, kLoopFused, kTailFused>, true};
}

// Whether `candidate` gives `reference`'s bits on vectors of many lengths (every
// path through the code: blocks of 8, of 4, a partial rest) and magnitudes. A
// fused and an unfused multiply-add differ in the last bit for most inputs, so
// a wrong variant fails here at once.
bool sameBits(const ExactDistances& candidate, Distance1Fn reference) {
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1 << 24) - 0.5f;
  };
  const size_t lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 64, 100, 128, 131, 256};
  const float scales[] = {1.0f, 1e-3f, 37.0f};
  for (size_t d : lengths) {
    for (float scale : scales) {
      std::vector<float> data(5 * d);
      for (auto& v : data) v = next() * scale;
      const float* q = data.data();
      const float* y[4] = {q + d, q + 2 * d, q + 3 * d, q + 4 * d};
      float four[4];
      candidate.four(q, y, d, four);
      for (int i = 0; i < 4; i++) {
        const float want = reference(q, y[i], d);
        const float one = candidate.one(q, y[i], d);
        if (std::memcmp(&want, &four[i], sizeof want) != 0 || std::memcmp(&want, &one, sizeof want) != 0) return false;
      }
    }
  }
  return true;
}

#endif  // FP_DISTANCE_REPLICA

template <DistanceKind K>
ExactDistances chooseFor() {
  constexpr Distance1Fn reference = K == DistanceKind::kL2 ? &faissL2 : &faissIp;
#ifdef FP_DISTANCE_REPLICA
  const ExactDistances variants[] = {replicaVariant<K, false, true>(), replicaVariant<K, false, false>(),
                                     replicaVariant<K, true, true>(), replicaVariant<K, true, false>()};
  for (const auto& v : variants)
    if (sameBits(v, reference)) return v;
#endif
  return {&faissFour<reference>, reference, false};
}

}  // namespace

const ExactDistances& exactDistances(DistanceKind kind) {
  static const ExactDistances l2 = chooseFor<DistanceKind::kL2>();
  static const ExactDistances ip = chooseFor<DistanceKind::kInnerProduct>();
  return kind == DistanceKind::kL2 ? l2 : ip;
}

}  // namespace fp
