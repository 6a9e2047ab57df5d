// Squared L2 norms of a flat index's stored vectors, kept between searches.
//
// FAISS 1.7.3 answers a batch of 20 or more queries on IndexFlatL2 with one BLAS
// matrix product, and before it computes the norms of every stored vector: a full
// pass over the data on every call, which dynamic batching makes frequent. FAISS
// 1.7.4 caches them in the index (IndexFlatL2::sync_l2norms); this is the same
// cache for 1.7.3, handed to faiss::knn_L2sqr, which computes them the same way
// (fvec_norms_L2sqr), so answers are bit-for-bit those of IndexFlatL2::search.
// It costs 4 bytes per stored vector (1/d of the index), held from the first batch
// search on; single-query searches never compute it.
#pragma once

#include <faiss/IndexFlat.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace fp {

class FlatNorms {
 public:
  // The norms of `flat`'s vectors as of `version` (IndexHandle::version). Call with
  // the index's lock held (shared is enough: the version cannot change under it).
  const float* get(const faiss::IndexFlat& flat, int64_t version);

 private:
  std::mutex mutex_;
  std::vector<float> norms_;
  int64_t version_ = -1;
  const float* data_ = nullptr;  // the vectors the norms belong to
};

// Whether searching n queries on `index` takes FAISS's BLAS path with norms:
// exactly IndexFlat / IndexFlatL2 with the L2 metric (subclasses such as
// IndexFlat1D search their own way).
bool usesFlatNorms(const faiss::Index& index, int64_t n);

}  // namespace fp
