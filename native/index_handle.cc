#include "index_handle.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>

#include "device_index.h"
#include "io.h"
#include "search_dispatch.h"
#include "tuned_index.h"

namespace fp {
namespace {

// An IndexRefine at the top or under IDMap / PreTransform wrappers.
faiss::IndexRefine* findRefine(faiss::Index* index) {
  while (index) {
    if (auto* r = dynamic_cast<faiss::IndexRefine*>(index)) return r;
    if (auto* m = dynamic_cast<faiss::IndexIDMap*>(index)) {
      index = m->index;
    } else if (auto* p = dynamic_cast<faiss::IndexPreTransform*>(index)) {
      index = p->index;
    } else {
      return nullptr;
    }
  }
  return nullptr;
}

// The nprobe field of the IVF a search uses, if any; a fast-scan IVF or one
// under IndexRefine reads it there rather than from SearchParameters
// (nprobeAsParams, search_dispatch.h).
size_t* ivfNprobe(faiss::Index* index) {
  // A GPU IVF keeps it in the DeviceIndex, which copies it into FAISS's GPU index per search.
  if (auto* gpu = dynamic_cast<DeviceIndex*>(index)) return gpu->nprobeField();
  auto* ivf = findTuned<faiss::IndexIVF>(index);
  return ivf ? &ivf->nprobe : nullptr;
}

// The clustering parameters of the IVF index train trains (a GPU IVF is no
// faiss::IndexIVF: it has none here).
faiss::ClusteringParameters* ivfClustering(faiss::Index* index) {
  auto* ivf = findTuned<faiss::IndexIVF>(index);
  return ivf ? &ivf->cp : nullptr;
}

// The lists of the IVF a search uses, 0 if none (a GPU IVF's are not read here).
int64_t ivfNlist(faiss::Index* index) {
  auto* ivf = findTuned<faiss::IndexIVF>(index);
  return ivf ? static_cast<int64_t>(ivf->nlist) : 0;
}

faiss::HNSW* hnswOf(faiss::Index* index) {
  auto* hnsw = findTuned<faiss::IndexHNSW>(index);
  return hnsw ? &hnsw->hnsw : nullptr;
}

}  // namespace

void collectLp(faiss::Index* index, std::vector<faiss::Index*>& out) {
  if (!index || index->metric_type != faiss::METRIC_Lp) return;
  out.push_back(index);
  if (auto* m = dynamic_cast<faiss::IndexIDMap*>(index)) collectLp(m->index, out);
  if (auto* h = dynamic_cast<faiss::IndexHNSW*>(index)) collectLp(h->storage, out);
  if (auto* p = dynamic_cast<faiss::IndexPreTransform*>(index)) collectLp(p->index, out);
}

IndexHandle::IndexHandle(std::unique_ptr<faiss::Index> index, bool readOnly)
    : HandleCore(readOnly, hnswOf(index.get()), ivfNprobe(index.get()), ivfNprobe(index.get()) && !nprobeAsParams(*index),
                 ivfClustering(index.get()), ivfNlist(index.get())),
      index_(std::move(index)) {
  collectLp(index_.get(), lp_);
  // The innermost one computes the distances (an IDMap does not copy metric_arg).
  if (!lp_.empty()) metricArg_ = lp_.back()->metric_arg;
  refine_ = findRefine(index_.get());
  if (refine_) kFactor_ = refine_->k_factor;
  refresh(false);
}

bool IndexHandle::searchFieldsCurrent() const {
  for (auto* i : lp_)
    if (i->metric_arg != metricArg()) return false;
  return !refine_ || refine_->k_factor == kFactor();
}

void IndexHandle::writeSearchFields() {
  for (auto* i : lp_) i->metric_arg = metricArg();
  if (refine_) refine_->k_factor = kFactor();
}

Tunables IndexHandle::effective(const Tunables& o) const {
  Tunables t = HandleCore::effective(o);
  if (refine_) t.kFactor = kFactor();
  return t;
}

void IndexHandle::applyTunables() {
  writeSearchFields();
  HandleCore::applyTunables();
}

void IndexHandle::refresh(bool mutated) {
  record(index_->ntotal, index_->is_trained, static_cast<int64_t>(serializedSize(*index_)), mutated);
}

}  // namespace fp
