// Distances from a vector to an HNSW index's stored vectors, as the build
// (hnsw_build.cc) and the search (hnsw_search.cc) compute them: FAISS's own
// distance (exact_distances.h), four neighbours at a time, and the prefetch of a
// vector before its distance is needed. Both negate inner products themselves
// (IndexHNSW's NegativeDistanceComputer), so that smaller is nearer.
#pragma once

#include <faiss/impl/HNSW.h>

#include <algorithm>
#include <cstddef>

#include "exact_distances.h"

namespace fp {

class StoredDistances {
 public:
  using storage_idx_t = faiss::HNSW::storage_idx_t;

  StoredDistances(const ExactDistances& fns, const float* base, size_t d)
      : fns_(fns), base_(base), d_(d), lines_(std::min<size_t>((d * sizeof(float) + 63) / 64, kPrefetchLines)) {}

  const float* vector(storage_idx_t i) const { return base_ + static_cast<size_t>(i) * d_; }

  // The distance from q to vector i.
  float one(const float* q, storage_idx_t i) const { return fns_.one(q, vector(i), d_); }

  // out[j] = the distance from q to ids[j], j < count, four at a time.
  void many(const float* q, const storage_idx_t* ids, int count, float* out) const {
    int j = 0;
    for (; j + 4 <= count; j += 4) {
      const float* y[4] = {vector(ids[j]), vector(ids[j + 1]), vector(ids[j + 2]), vector(ids[j + 3])};
      fns_.four(q, y, d_, out + j);
    }
    if (j < count) {
      // The last one to three, padded with the last vector (each distance is
      // computed on its own: padding changes none of them).
      const float* y[4];
      for (int i = 0; i < 4; i++) y[i] = vector(ids[std::min(j + i, count - 1)]);
      float rest[4];
      fns_.four(q, y, d_, rest);
      for (int i = 0; j + i < count; i++) out[j + i] = rest[i];
    }
  }

  // Asks for vector i's first cache lines now, so that they are on their way
  // while the rest of a node's neighbours are looked up.
  void prefetch(storage_idx_t i) const {
    const char* p = reinterpret_cast<const char*>(vector(i));
    for (size_t l = 0; l < lines_; l++) __builtin_prefetch(p + 64 * l, 0, 3);
  }

 private:
  // Four lines: more (a 128-d vector has eight) fill the core's queue of misses
  // and stall it on the prefetches themselves; the hardware prefetcher follows
  // a vector's later lines once the first are read (bench:kernel-hnsw).
  static constexpr size_t kPrefetchLines = 4;

  const ExactDistances& fns_;
  const float* base_;
  size_t d_;
  size_t lines_;
};

// Negates out[0..count) in place (inner products, nearest smallest).
inline void negateDistances(float* out, int count) {
  for (int i = 0; i < count; i++) out[i] = -out[i];
}

}  // namespace fp
