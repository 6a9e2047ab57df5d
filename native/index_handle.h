// The state shared between a JS Index object and the worker threads operating on
// it. Workers hold a shared_ptr, so dispose() from JS never frees an index under a
// running search: the memory goes when the last operation in flight ends.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexRefine.h>
#include <faiss/impl/HNSW.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "flat_norms.h"
#include "rwlock.h"
#include "search_cost.h"
#include "tunables.h"

namespace fp {

// The index and every index it wraps whose metric_arg FAISS reads when it
// computes METRIC_Lp, outermost first: under an IDMap the inner index, under HNSW
// its storage (Python's index.metric_arg on an IndexHNSWFlat leaves
// storage.metric_arg alone; this binding sets all of them).
void collectLp(faiss::Index* index, std::vector<faiss::Index*>& out);

class IndexHandle {
 public:
  // `readOnly`: loaded memory-mapped; FAISS would abort the process on a write.
  IndexHandle(std::unique_ptr<faiss::Index> index, bool readOnly);
  bool readOnly() const { return readOnly_; }

  faiss::Index* index() const { return index_.get(); }
  RwLock& lock() { return lock_; }

  // Values readable from the JS thread at any time without taking the lock;
  // refreshed by refresh() after every operation that can change them.
  int64_t ntotal() const { return ntotal_.load(); }
  bool isTrained() const { return isTrained_.load(); }
  int64_t bytes() const { return bytes_.load(); }
  int64_t version() const { return version_.load(); }

  // Tunables live here, not in the FAISS object, so that setting one from JS never
  // races a search reading it: searches get them as SearchParameters, and they are
  // copied into the FAISS object under the exclusive lock (applyTunables) before
  // anything that persists or uses them (add, serialize).
  bool hasIvf() const { return ivf_ != nullptr; }
  bool hasHnsw() const { return hnsw_ != nullptr; }
  int nprobe() const { return nprobe_.load(); }
  int efSearch() const { return efSearch_.load(); }
  int efConstruction() const { return efConstruction_.load(); }
  void setNprobe(int v) { nprobe_.store(v); }
  void setEfSearch(int v) { efSearch_.store(v); }
  void setEfConstruction(int v) { efConstruction_.store(v); }
  Tunables effective(const Tunables& overrides) const;

  // METRIC_Lp's p (FAISS's metric_arg) and an IndexRefine's k_factor, kept here
  // for the same reason as the tunables: FAISS reads them from the index during
  // a search, so a new value is written into the FAISS objects under the
  // exclusive lock, by the next search (searchShared) or write (applyTunables).
  bool isLp() const { return !lp_.empty(); }
  float metricArg() const { return metricArg_.load(); }
  void setMetricArg(float p) { metricArg_.store(p); }
  bool hasRefine() const { return refine_ != nullptr; }
  float kFactor() const { return kFactor_.load(); }
  void setKFactor(float v) { kFactor_.store(v); }

  // Call with the exclusive lock held.
  void applyTunables();

  // Runs fn under the shared lock with the search settings of `t` in force.
  // FAISS 1.7.3's HNSW sizes its candidate queue from the index's own efSearch
  // field even when SearchParametersHNSW gives another one, and its fast-scan IVF
  // and IndexRefine refuse SearchParameters (nprobeAsParams, search_dispatch.h),
  // so a per-call efSearch, and there a per-call nprobe, must be written into the
  // field (under the exclusive lock) for the search to behave as Python's
  // `index.hnsw.efSearch = ...` / `index.nprobe = ...` does. Searches wanting the
  // same values still run in parallel; differing values take turns.
  template <typename F>
  void searchShared(const Tunables& t, F&& fn) {
    for (;;) {
      {
        SharedGuard guard(lock_);
        if (fieldsHold(t) && searchFieldsCurrent()) {
          fn();
          return;
        }
      }
      ExclusiveGuard guard(lock_);
      if (hnsw_) hnsw_->efSearch = t.efSearch;
      if (nprobeField_) ivf_->nprobe = t.nprobe;
      writeSearchFields();
    }
  }
  // As searchShared, for the JS thread, which must never wait: runs fn and returns
  // true only if the shared lock is free now (no writer holding or waiting for it)
  // and the fields already have the values `t` wants.
  template <typename F>
  bool trySearchShared(const Tunables& t, F&& fn) {
    if (!lock_.tryLockShared()) return false;
    SharedGuard guard(lock_, SharedGuard::kAdopt);
    if (!fieldsHold(t) || !searchFieldsCurrent()) return false;
    fn();
    return true;
  }
  // What one-query searches on this index cost (search_cost.h).
  SearchCost& searchCost() { return searchCost_; }
  // Norms cache for batch searches of a flat L2 index (flat_norms.h).
  FlatNorms& flatNorms() { return flatNorms_; }

  // Call with the lock held (shared or exclusive); `mutated` bumps the version.
  void refresh(bool mutated);

 private:
  // Whether the FAISS objects hold metricArg() and kFactor(); call with the lock held.
  bool searchFieldsCurrent() const;
  // Writes them; call with the exclusive lock held.
  void writeSearchFields();

  std::unique_ptr<faiss::Index> index_;
  const bool readOnly_;
  // Call with the lock held: the efSearch and nprobe fields searches read have
  // the values of `t`.
  bool fieldsHold(const Tunables& t) const {
    return (!hnsw_ || hnsw_->efSearch == t.efSearch) &&
           (!nprobeField_ || ivf_->nprobe == static_cast<size_t>(t.nprobe));
  }

  RwLock lock_;
  faiss::IndexIVF* ivf_ = nullptr;
  bool nprobeField_ = false;  // searches read ivf_->nprobe, not SearchParameters
  faiss::HNSW* hnsw_ = nullptr;
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> isTrained_{false};
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> version_{0};
  std::atomic<int> nprobe_{-1};
  std::atomic<int> efSearch_{-1};
  std::atomic<int> efConstruction_{-1};
  std::vector<faiss::Index*> lp_;  // the index and what it wraps, when they compute METRIC_Lp
  faiss::IndexRefine* refine_ = nullptr;
  std::atomic<float> metricArg_{0};
  std::atomic<float> kFactor_{1};
  FlatNorms flatNorms_;
  SearchCost searchCost_;
};

}  // namespace fp
