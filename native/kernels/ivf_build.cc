#include "ivf_build.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/utils/distances.h>

#include <typeinfo>
#include <vector>

#include "flat_batch.h"
#include "stats.h"
#include "switches.h"

namespace fp {
namespace {

// An IndexFlat of the L2 metric, exactly (its search is IndexFlat::search).
bool isFlatL2(const faiss::Index* index) {
  if (!index || index->metric_type != faiss::METRIC_L2) return false;
  const auto& type = typeid(*index);
  return type == typeid(faiss::IndexFlat) || type == typeid(faiss::IndexFlatL2);
}

// The IndexIVFFlat whose coarse assignment the kernel can do, or null.
faiss::IndexIVFFlat* coveredIvf(faiss::Index& index) {
  if (!kernelSwitches().flatBatch.load(std::memory_order_relaxed)) return nullptr;
  if (typeid(index) != typeid(faiss::IndexIVFFlat)) return nullptr;
  auto& ivf = static_cast<faiss::IndexIVFFlat&>(index);
  return isFlatL2(ivf.quantizer) ? &ivf : nullptr;
}

// What IndexFlat::search answers for k = 1 (knn_L2sqr without stored norms,
// which then computes them with fvec_norms_L2sqr, as here), by the kernel where
// it takes the search; false when FAISS must search.
bool nearestByKernel(const faiss::IndexFlat& flat, int64_t n, const float* x, float* distances, int64_t* labels) {
  if (!kernelTakes(Kernel::kFlatBatch, flatBatchFitFlat(flat, n, 1))) return false;
  std::vector<float> yNorms(static_cast<size_t>(flat.ntotal));
  faiss::fvec_norms_L2sqr(yNorms.data(), flat.get_xb(), static_cast<size_t>(flat.d), static_cast<size_t>(flat.ntotal));
  if (!flatBatch(flat, n, x, 1, distances, labels, yNorms.data())) {
    countFallback(Kernel::kFlatBatch, Fit::kOverflow);
    return false;
  }
  countAnswer(Kernel::kFlatBatch);
  return true;
}

// The index FAISS's k-means searches (IndexIVF's clustering_index): an
// IndexFlatL2 in every respect, whose k = 1 searches go to the kernel.
class KernelAssigner : public faiss::IndexFlatL2 {
 public:
  explicit KernelAssigner(faiss::Index::idx_t d) : faiss::IndexFlatL2(d) {}

  void search(faiss::Index::idx_t n, const float* x, faiss::Index::idx_t k, float* distances, faiss::Index::idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override {
    if (k == 1 && params == nullptr && nearestByKernel(*this, n, x, distances, labels)) return;
    faiss::IndexFlatL2::search(n, x, k, distances, labels, params);
  }
};

// Sets ivf.clustering_index for the call, and clears it again whatever happens.
class ClusteringIndexScope {
 public:
  ClusteringIndexScope(faiss::IndexIVF& ivf, faiss::Index* index) : ivf_(ivf) { ivf_.clustering_index = index; }
  ~ClusteringIndexScope() { ivf_.clustering_index = nullptr; }
  ClusteringIndexScope(const ClusteringIndexScope&) = delete;
  ClusteringIndexScope& operator=(const ClusteringIndexScope&) = delete;

 private:
  faiss::IndexIVF& ivf_;
};

}  // namespace

bool ivfBuildTrain(faiss::Index& index, int64_t n, const float* x) {
  faiss::IndexIVFFlat* ivf = coveredIvf(index);
  // FAISS's Level1Quantizer::train_q1 runs k-means on the quantizer itself only
  // with quantizer_trains_alone 0 and no clustering_index of the caller's; with
  // clustering_index set it runs the same k-means on that index and adds the
  // centroids to the quantizer, which ends up the same.
  if (!ivf || ivf->quantizer_trains_alone != 0 || ivf->clustering_index != nullptr) return false;
  KernelAssigner assigner(ivf->d);
  ClusteringIndexScope scope(*ivf, &assigner);
  ivf->train(n, x);
  return true;
}

bool ivfBuildAdd(faiss::Index& index, int64_t n, const float* x, const int64_t* ids) {
  faiss::IndexIVFFlat* ivf = coveredIvf(index);
  if (!ivf || !ivf->is_trained || n <= 0) return false;
  // IndexIVF::add_with_ids: quantizer->assign (a k = 1 search), then add_core.
  std::vector<float> distances(static_cast<size_t>(n));
  std::vector<faiss::Index::idx_t> lists(static_cast<size_t>(n), -1);
  if (!nearestByKernel(static_cast<const faiss::IndexFlat&>(*ivf->quantizer), n, x, distances.data(), lists.data()))
    return false;
  ivf->add_core(n, x, ids, lists.data());
  return true;
}

}  // namespace fp
