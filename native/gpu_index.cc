#include "gpu_index.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexReplicas.h>
#include <faiss/IndexShards.h>
#include <faiss/gpu/GpuCloner.h>
#include <faiss/gpu/GpuIndexFlat.h>
#include <faiss/gpu/GpuIndexIVFFlat.h>
#include <faiss/gpu/GpuIndexIVFPQ.h>
#include <faiss/gpu/GpuIndexIVFScalarQuantizer.h>
#include <faiss/impl/FaissAssert.h>

#include <algorithm>
#include <functional>

#include "index_type.h"

namespace fp {
namespace {

// Calls fn on the index and each index it is made of, outermost first: under an
// IndexIDMap its inner index, under IndexReplicas / IndexShards (one per GPU) each one.
void visit(faiss::Index* index, const std::function<void(faiss::Index*)>& fn) {
  if (!index) return;
  fn(index);
  if (auto* m = dynamic_cast<faiss::IndexIDMap*>(index)) {
    visit(m->index, fn);
  } else if (auto* r = dynamic_cast<faiss::IndexReplicas*>(index)) {
    for (int i = 0; i < r->count(); i++) visit(r->at(i), fn);
  } else if (auto* s = dynamic_cast<faiss::IndexShards*>(index)) {
    for (int i = 0; i < s->count(); i++) visit(s->at(i), fn);
  }
}

size_t coarseBytes(const faiss::gpu::GpuIndexIVF& ivf) { return size_t(ivf.nlist) * ivf.d * sizeof(float); }

// What one index's own data takes on its device: its codes, 8-byte ids in the
// inverted lists, and the coarse centroids.
size_t ownBytes(const faiss::Index* index) {
  const size_t n = static_cast<size_t>(index->ntotal);
  if (auto* pq = dynamic_cast<const faiss::gpu::GpuIndexIVFPQ*>(index))
    return n * (pq->pq.code_size + 8) + coarseBytes(*pq) + pq->pq.centroids.size() * sizeof(float);
  if (auto* sq = dynamic_cast<const faiss::gpu::GpuIndexIVFScalarQuantizer*>(index))
    return n * (sq->sq.code_size + 8) + coarseBytes(*sq);
  if (auto* flat = dynamic_cast<const faiss::gpu::GpuIndexIVFFlat*>(index))
    return n * (flat->d * sizeof(float) + 8) + coarseBytes(*flat);
  if (dynamic_cast<const faiss::gpu::GpuIndexFlat*>(index)) return n * index->d * sizeof(float);
  if (dynamic_cast<const faiss::IndexIDMap*>(index)) return n * 8;  // its id table (in host memory)
  return 0;
}

}  // namespace

GpuIndexGuard::GpuIndexGuard(std::unique_ptr<faiss::Index> index, std::vector<std::shared_ptr<GpuResourcesHandle>> resources)
    : DeviceIndex(index->d, index->metric_type), index_(std::move(index)), resources_(std::move(resources)) {
  std::sort(resources_.begin(), resources_.end());
  resources_.erase(std::unique(resources_.begin(), resources_.end()), resources_.end());
  metric_arg = index_->metric_arg;
  visit(index_.get(), [&](faiss::Index* i) {
    if (auto* ivf = dynamic_cast<faiss::gpu::GpuIndexIVF*>(i)) ivfs_.push_back(ivf);
  });
  if (!ivfs_.empty()) nprobe_ = static_cast<size_t>(ivfs_.front()->nprobe);
  mirror();
}

GpuIndexGuard::~GpuIndexGuard() {
  locked([&] { index_.reset(); });
}

template <typename F>
auto GpuIndexGuard::locked(F&& fn) const -> decltype(fn()) {
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(resources_.size());
  for (const auto& r : resources_) locks.emplace_back(r->mutex);
  return fn();
}

void GpuIndexGuard::mirror() {
  ntotal = index_->ntotal;
  is_trained = index_->is_trained;
}

std::string GpuIndexGuard::typeName() const {
  std::string name = indexTypeName(*index_);
  const std::string prefix = "gpu::";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  if (name == "GpuIndexFlat") {
    // index_cpu_to_gpu makes a GpuIndexFlat of an IndexFlatL2; name it by its metric.
    if (metric_type == faiss::METRIC_L2) return "GpuIndexFlatL2";
    if (metric_type == faiss::METRIC_INNER_PRODUCT) return "GpuIndexFlatIP";
  }
  return name;
}

std::unique_ptr<faiss::Index> GpuIndexGuard::toCpu() const {
  return locked([&] {
    for (auto* ivf : ivfs_) ivf->nprobe = static_cast<int>(nprobe_);  // the file carries it, as Python's would
    return std::unique_ptr<faiss::Index>(faiss::gpu::index_gpu_to_cpu(index_.get()));
  });
}

size_t GpuIndexGuard::deviceBytes() const {
  size_t total = 0;
  visit(index_.get(), [&](faiss::Index* i) { total += ownBytes(i); });
  return total;
}

std::vector<int> GpuIndexGuard::devices() const {
  std::vector<int> out;
  visit(index_.get(), [&](faiss::Index* i) {
    if (auto* g = dynamic_cast<faiss::gpu::GpuIndex*>(i)) out.push_back(g->getDevice());
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void GpuIndexGuard::train(idx_t n, const float* x) {
  locked([&] { index_->train(n, x); });
  mirror();
}

void GpuIndexGuard::add(idx_t n, const float* x) {
  locked([&] { index_->add(n, x); });
  mirror();
}

void GpuIndexGuard::add_with_ids(idx_t n, const float* x, const idx_t* xids) {
  locked([&] { index_->add_with_ids(n, x, xids); });
  mirror();
}

void GpuIndexGuard::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                           const faiss::SearchParameters* params) const {
  // The handle refuses selectors for this index (it does not filter: selector_support.h)
  // and sets nprobe in nprobeField rather than in parameters (nprobeAsParams is false).
  FAISS_THROW_IF_NOT_MSG(!params, "search parameters are not supported by GPU indexes");
  locked([&] {
    for (auto* ivf : ivfs_) ivf->nprobe = static_cast<int>(nprobe_);
    index_->search(n, x, k, distances, labels);
  });
}

void GpuIndexGuard::range_search(idx_t, const float*, float, faiss::RangeSearchResult*,
                                 const faiss::SearchParameters*) const {
  FAISS_THROW_MSG("range search is not supported by " + typeName() + " (FAISS's GPU indexes have none)");
}

void GpuIndexGuard::assign(idx_t n, const float* x, idx_t* labels, idx_t k) const {
  locked([&] { index_->assign(n, x, labels, k); });
}

void GpuIndexGuard::reset() {
  locked([&] { index_->reset(); });
  mirror();
}

size_t GpuIndexGuard::remove_ids(const faiss::IDSelector& sel) {
  const size_t removed = locked([&] { return index_->remove_ids(sel); });
  mirror();
  return removed;
}

void GpuIndexGuard::reconstruct(idx_t key, float* recons) const {
  locked([&] { index_->reconstruct(key, recons); });
}

void GpuIndexGuard::reconstruct_n(idx_t i0, idx_t ni, float* recons) const {
  locked([&] { index_->reconstruct_n(i0, ni, recons); });
}

void GpuIndexGuard::search_and_reconstruct(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                                           float* recons, const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT_MSG(!params, "search parameters are not supported by GPU indexes");
  locked([&] {
    for (auto* ivf : ivfs_) ivf->nprobe = static_cast<int>(nprobe_);
    index_->search_and_reconstruct(n, x, k, distances, labels, recons);
  });
}

}  // namespace fp
