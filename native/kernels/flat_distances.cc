#include "flat_distances.h"

#include <faiss/utils/distances.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <vector>

namespace fp {
namespace {

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)

constexpr int kRound = _MM_FROUND_CUR_DIRECTION;

inline __m512 add(__m512 a, __m512 b) { return _mm512_add_round_ps(a, b, kRound); }
inline __m512 sub(__m512 a, __m512 b) { return _mm512_sub_round_ps(a, b, kRound); }
inline __m512 mul(__m512 a, __m512 b) { return _mm512_mul_round_ps(a, b, kRound); }

// Chunk c of two rows: row a in the low 8 lanes, row b in the high 8.
inline __m512 pairOf(const float* a, const float* b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a)), _mm256_loadu_ps(b), 1);
}

// Four 4-float pieces, one per 128-bit lane.
inline __m512 quadOf(__m128 a, __m128 b, __m128 c, __m128 d) {
  __m512 q = _mm512_castps128_ps512(a);
  q = _mm512_insertf32x4(q, b, 1);
  q = _mm512_insertf32x4(q, c, 2);
  return _mm512_insertf32x4(q, d, 3);
}

// FAISS's term of one 8-float chunk: (x - y)^2, or x * y.
template <bool kIP>
inline __m512 chunkTerm(__m512 x, __m512 y) {
  if (kIP) return mul(x, y);
  const __m512 diff = sub(x, y);
  return mul(diff, diff);
}

// FAISS's tails: sum + (x - y)^2, or sum + x * y, fused.
template <bool kIP>
inline __m512 tailTerm(__m512 x, __m512 y, __m512 sum) {
  if (kIP) return _mm512_fmadd_ps(x, y, sum);
  const __m512 diff = sub(x, y);
  return _mm512_fmadd_ps(diff, diff, sum);
}

// The 4-lane sums of four rows (one per 128-bit lane) from their tails on to the
// end, as FAISS finishes one row: out[i] gets row i's distance.
template <bool kIP>
inline void finish4(__m512 s, const float* x, const float* const* rows, size_t c, size_t d, float* out) {
  if (d - c >= 4) {
    const __m512 xt = _mm512_broadcast_f32x4(_mm_loadu_ps(x + c));
    const __m512 yt = quadOf(_mm_loadu_ps(rows[0] + c), _mm_loadu_ps(rows[1] + c), _mm_loadu_ps(rows[2] + c),
                             _mm_loadu_ps(rows[3] + c));
    s = tailTerm<kIP>(xt, yt, s);
    c += 4;
  }
  if (d > c) {  // 1..3 floats, the rest of the 4 lanes zero (FAISS's masked_read)
    const __mmask8 m = static_cast<__mmask8>((1u << (d - c)) - 1);
    const __m512 xr = _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(m, x + c));
    const __m512 yr = quadOf(_mm_maskz_loadu_ps(m, rows[0] + c), _mm_maskz_loadu_ps(m, rows[1] + c),
                             _mm_maskz_loadu_ps(m, rows[2] + c), _mm_maskz_loadu_ps(m, rows[3] + c));
    s = tailTerm<kIP>(xr, yr, s);
  }
  // Two horizontal adds: (s0 + s1) + (s2 + s3), in lane 0 of each 128-bit lane.
  const __m512 u = add(s, _mm512_permute_ps(s, 0xB1));
  const __m512 v = add(u, _mm512_permute_ps(u, 0x4E));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  out[0] = lanes[0];
  out[1] = lanes[4];
  out[2] = lanes[8];
  out[3] = lanes[12];
}

// Eight consecutive rows at y.
template <bool kIP>
void rows8(const float* x, const float* y, size_t d, float* out) {
  const float* r[8];
  for (int i = 0; i < 8; i++) r[i] = y + i * d;
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  size_t c = 0;
  for (; c + 8 <= d; c += 8) {
    const __m512 xx = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + c));
    a0 = add(a0, chunkTerm<kIP>(xx, pairOf(r[0] + c, r[1] + c)));
    a1 = add(a1, chunkTerm<kIP>(xx, pairOf(r[2] + c, r[3] + c)));
    a2 = add(a2, chunkTerm<kIP>(xx, pairOf(r[4] + c, r[5] + c)));
    a3 = add(a3, chunkTerm<kIP>(xx, pairOf(r[6] + c, r[7] + c)));
  }
  // High half plus low half of each row's 8 sums: 128-bit lanes [r0 r1 r2 r3].
  const __m512 s0 = add(_mm512_shuffle_f32x4(a0, a1, 0xDD), _mm512_shuffle_f32x4(a0, a1, 0x88));
  const __m512 s1 = add(_mm512_shuffle_f32x4(a2, a3, 0xDD), _mm512_shuffle_f32x4(a2, a3, 0x88));
  finish4<kIP>(s0, x, r, c, d, out);
  finish4<kIP>(s1, x, r + 4, c, d, out + 4);
}

constexpr bool kCompiled = true;

#else

template <bool kIP>
void rows8(const float*, const float*, size_t, float*) {}

constexpr bool kCompiled = false;

#endif

template <bool kIP>
float faissDistance(const float* x, const float* y, size_t d) {
  return kIP ? faiss::fvec_inner_product(x, y, d) : faiss::fvec_L2sqr(x, y, d);
}

template <bool kIP>
void rows(const float* x, const float* y, size_t d, size_t n, float* out) {
  size_t i = 0;
  if (rowKernelsMatchFaiss()) {
    for (; i + 8 <= n; i += 8) rows8<kIP>(x, y + i * d, d, out + i);
  }
  for (; i < n; i++) out[i] = faissDistance<kIP>(x, y + i * d, d);
}

template <bool kIP>
bool matchesOn(size_t d, uint32_t& seed) {
  // Values of mixed sign and magnitude, so that any other order of the sum shows.
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    const float unit = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
    return unit * static_cast<float>(1u << ((seed >> 4) % 12));
  };
  std::vector<float> x(d), y(8 * d);
  for (auto& v : x) v = next();
  for (auto& v : y) v = next();
  float mine[8];
  rows8<kIP>(x.data(), y.data(), d, mine);
  for (size_t i = 0; i < 8; i++) {
    const float theirs = faissDistance<kIP>(x.data(), y.data() + i * d, d);
    if (std::memcmp(&mine[i], &theirs, sizeof(float)) != 0) return false;
  }
  return true;
}

bool checkAgainstFaiss() {
  if (!kCompiled) return false;
  uint32_t seed = 12345;
  for (size_t d = 1; d <= 72; d++) {
    for (int round = 0; round < 4; round++) {
      if (!matchesOn<false>(d, seed) || !matchesOn<true>(d, seed)) return false;
    }
  }
  return matchesOn<false>(128, seed) && matchesOn<true>(128, seed) && matchesOn<false>(963, seed) &&
         matchesOn<true>(963, seed);
}

}  // namespace

bool rowKernelsMatchFaiss() {
  static const bool matches = checkAgainstFaiss();
  return matches;
}

void l2sqrRows(const float* x, const float* y, size_t d, size_t n, float* out) { rows<false>(x, y, d, n, out); }

void innerProductRows(const float* x, const float* y, size_t d, size_t n, float* out) {
  rows<true>(x, y, d, n, out);
}

void l2sqrRowsInOrder(const float* x, const float* y, size_t d, size_t n, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = faiss::fvec_L2sqr(x, y + i * d, d);
}

void innerProductRowsInOrder(const float* x, const float* y, size_t d, size_t n, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = faiss::fvec_inner_product(x, y + i * d, d);
}

}  // namespace fp
