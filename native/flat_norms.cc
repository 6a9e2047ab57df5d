#include "flat_norms.h"

#include <faiss/utils/distances.h>

#include <mutex>
#include <typeinfo>

namespace fp {

const float* FlatNorms::get(const faiss::IndexFlat& flat, int64_t version) {
  std::lock_guard<std::mutex> guard(mutex_);
  const float* data = flat.get_xb();
  const size_t n = static_cast<size_t>(flat.ntotal);
  if (version != version_ || data != data_ || norms_.size() != n) {
    // Assign before computing: a throw (bad_alloc) leaves the cache marked stale.
    version_ = -1;
    norms_.resize(n);
    faiss::fvec_norms_L2sqr(norms_.data(), data, flat.d, n);
    version_ = version;
    data_ = data;
  }
  return norms_.data();
}

bool usesFlatNorms(const faiss::Index& index, int64_t n) {
  const auto& type = typeid(index);
  return (type == typeid(faiss::IndexFlatL2) || type == typeid(faiss::IndexFlat)) &&
         index.metric_type == faiss::METRIC_L2 && n >= faiss::distance_compute_blas_threshold && index.ntotal > 0;
}

}  // namespace fp
