#include "sgemm_chain.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

// FAISS's own declaration (faiss/utils/distances.cpp): the Fortran interface,
// 32-bit integers.
extern "C" int sgemm_(const char* transa, const char* transb, int* m, int* n, int* k, const float* alpha,
                      const float* a, int* lda, const float* b, int* ldb, float* beta, float* c, int* ldc);

namespace fp {
namespace {

#ifdef FP_SGEMM_CHAIN

// Values of mixed sign and magnitude (2^-7 .. 2^8), so that another order of the
// additions, or a multiply and an add where sgemm_ fuses them, changes the bits.
float probeValue(uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  const uint32_t r = static_cast<uint32_t>(state >> 33);
  const float mantissa = static_cast<float>(r & 0xFFFFFF) / static_cast<float>(1 << 24) - 0.5f;
  return std::ldexp(mantissa, static_cast<int>((r >> 24) & 15) - 7);
}

// Every tile shape of query group Q8 (R rows, then single rows) against `want`
// (column-major nrows x nq, sgemm_'s output).
template <int Q8>
bool tilesMatch(const std::vector<float>& x, const std::vector<float>& y, size_t d, size_t nrows,
                const std::vector<float>& want) {
  constexpr int R = chainTileRows<Q8>();
  constexpr int kLanes = 8 * Q8;
  // Queries 0..kLanes-1, packed as flat_batch packs them.
  std::vector<float> storage(d * kLanes + 8);
  float* packed = storage.data() + ((8 - (reinterpret_cast<uintptr_t>(storage.data()) / sizeof(float)) % 8) % 8);
  for (size_t p = 0; p < d; p++)
    for (int q = 0; q < kLanes; q++) packed[p * kLanes + q] = x[q * d + p];
  auto same = [&](const __m256* acc, size_t row) {
    alignas(32) float got[kLanes];
    for (int v = 0; v < Q8; v++) _mm256_store_ps(got + 8 * v, acc[v]);
    for (int q = 0; q < kLanes; q++)
      if (std::memcmp(&got[q], &want[q * nrows + row], sizeof(float)) != 0) return false;
    return true;
  };
  size_t j = 0;
  for (; j + R <= nrows; j += R) {
    __m256 acc[R][Q8];
    chainTile<Q8, R>(packed, y.data() + j * d, d, y.data() + j * d, acc);
    for (int r = 0; r < R; r++)
      if (!same(acc[r], j + r)) return false;
  }
  for (; j < nrows; j++) {
    __m256 acc[1][Q8];
    chainTile<Q8, 1>(packed, y.data() + j * d, d, y.data() + j * d, acc);
    if (!same(acc[0], j)) return false;
  }
  return true;
}

bool probe(size_t d) {
  if (d == 0 || d > static_cast<size_t>(INT32_MAX) / 1024) return false;
  // sgemm_'s general path: M * N above 1200 (OpenBLAS's small-matrix bound), rows
  // and queries not multiples of its 16 x 4 register blocks.
  constexpr size_t kRows = 259, kQueries = 37;
  std::vector<float> x(kQueries * d), y(kRows * d), ip(kRows * kQueries);
  uint64_t state = 0x2545F4914F6CDD1DULL ^ d;
  for (auto& v : x) v = probeValue(state);
  for (auto& v : y) v = probeValue(state);
  // Query 1 against row 2: every product -1e-60, which rounds to -0 (sgemm_
  // answers +0).
  for (size_t p = 0; p < d; p++) {
    x[1 * d + p] = -1e-30f;
    y[2 * d + p] = 1e-30f;
  }
  sgemmLikeFaiss(y.data(), kRows, x.data(), kQueries, d, ip.data());
  return tilesMatch<1>(x, y, d, kRows, ip) && tilesMatch<2>(x, y, d, kRows, ip) && tilesMatch<3>(x, y, d, kRows, ip) &&
         tilesMatch<4>(x, y, d, kRows, ip);
}

// Just past kSmallMatrixBound with 32 queries.
bool probePastSmall(size_t d) {
  if (d == 0) return false;
  constexpr size_t kQueries = 32;
  const size_t rows = static_cast<size_t>(kSmallMatrixBound) / (kQueries * d) + 1;
  std::vector<float> x(kQueries * d), y(rows * d), ip(rows * kQueries);
  uint64_t state = 0x9E3779B97F4A7C15ULL ^ d;
  for (auto& v : x) v = probeValue(state);
  for (auto& v : y) v = probeValue(state);
  sgemmLikeFaiss(y.data(), rows, x.data(), kQueries, d, ip.data());
  return tilesMatch<1>(x, y, d, rows, ip) && tilesMatch<4>(x, y, d, rows, ip);
}

bool checkedOnce(size_t d, bool (*check)(size_t), std::unordered_map<size_t, bool>& checked, std::mutex& mutex) {
  std::lock_guard<std::mutex> guard(mutex);
  auto it = checked.find(d);
  if (it == checked.end()) it = checked.emplace(d, check(d)).first;
  return it->second;
}

#endif  // FP_SGEMM_CHAIN

}  // namespace

void sgemmLikeFaiss(const float* y, size_t m, const float* x, size_t n, size_t d, float* ip) {
  float one = 1, zero = 0;
  int mi = static_cast<int>(m), ni = static_cast<int>(n), di = static_cast<int>(d);
  sgemm_("Transpose", "Not transpose", &mi, &ni, &di, &one, y, &di, x, &di, &zero, ip, &mi);
}

bool sgemmChainMatches(size_t d) {
#ifdef FP_SGEMM_CHAIN
  static std::mutex mutex;
  static std::unordered_map<size_t, bool> checked;
  return checkedOnce(d, probe, checked, mutex);
#else
  (void)d;
  return false;
#endif
}

bool sgemmChainMatchesPastSmall(size_t d) {
#ifdef FP_SGEMM_CHAIN
  static std::mutex mutex;
  static std::unordered_map<size_t, bool> checked;
  return checkedOnce(d, probePastSmall, checked, mutex) && sgemmChainMatches(d);
#else
  (void)d;
  return false;
#endif
}

}  // namespace fp
