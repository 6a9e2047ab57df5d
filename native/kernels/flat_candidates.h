// The candidates of a flat search split across threads by stored vectors, and
// their merge into the answer of FAISS's HeapResultHandler (k < 100), ties
// included. Shared by the flat kernels (flat_scan.h: 1-19 queries; flat_batch.h:
// batches), which compute the same distances FAISS does and differ only in how.
//
// FAISS offers each stored vector, in id order, to a heap of k that it enters only
// when strictly better than the heap's top. For L2 that keeps the k smallest
// (distance, id) pairs. For inner product it does not rank ties by id: the heap
// evicts its smallest-id tie, but refuses a tie that comes later, so which ties
// at the k-th distance survive depends on the order they came in. Both are
// reproduced by replaying FAISS's own heap code over the parts' candidates in id
// order. That replay gives FAISS's answer when the candidates hold every vector
// better than the k-th distance and, per part, the first k ties at it (the ties
// FAISS can still hold once its heap is full): each part, a contiguous range of
// ids, keeps its k (L2) or 2k (inner product) best by (distance, then smaller id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fp {

// One part's candidates for every query: a max-heap of `keep` (key, id) per
// query, the key being the distance (L2) or its negation (inner product), so that
// both keep the best by (distance, then smaller id): vectors are offered in id
// order and enter only when their key is strictly below the top.
struct FlatCandidates {
  size_t keep = 0;
  std::vector<float> keys;
  std::vector<int64_t> ids;

  // `keep` per query for k: k for L2, 2k for inner product.
  static size_t keepFor(size_t k, bool innerProduct) { return innerProduct ? 2 * k : k; }
  // n empty heaps of `keep` (FAISS's heap_heapify: keys +FLT_MAX, ids -1).
  void reset(size_t n, size_t keepPerQuery);
  float* keysOf(size_t q) { return keys.data() + q * keep; }
  int64_t* idsOf(size_t q) { return ids.data() + q * keep; }
  // Replaces query q's top with (key, id); the caller checked key < top.
  void replaceTop(size_t q, float key, int64_t id);
};

// FAISS's answer for n queries, k results each, from the parts' candidates (parts
// in id order, each a contiguous range of ids, each offered its vectors in order).
void mergeFlatCandidates(const std::vector<const FlatCandidates*>& parts, size_t n, size_t k, bool innerProduct,
                         float* distances, int64_t* labels);

}  // namespace fp
