// The state shared between a JS Index object and the worker threads operating on
// it: a float faiss::Index, with the lock, counters and tunables every handle has
// (handle_core.h).
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexRefine.h>
#include <faiss/impl/HNSW.h>

#include <atomic>
#include <memory>
#include <vector>

#include "flat_norms.h"
#include "handle_core.h"
#include "search_cost.h"

namespace fp {

// The index and every index it wraps whose metric_arg FAISS reads when it
// computes METRIC_Lp, outermost first: under an IDMap the inner index, under HNSW
// its storage (Python's index.metric_arg on an IndexHNSWFlat leaves
// storage.metric_arg alone; this binding sets all of them).
void collectLp(faiss::Index* index, std::vector<faiss::Index*>& out);

class IndexHandle : public HandleCore {
 public:
  // `readOnly`: loaded memory-mapped; FAISS would abort the process on a write.
  IndexHandle(std::unique_ptr<faiss::Index> index, bool readOnly);

  faiss::Index* index() const { return index_.get(); }

  Tunables effective(const Tunables& overrides) const override;
  void applyTunables() override;

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

  // What one-query searches on this index cost (search_cost.h): unfiltered, and
  // with a selector (the walk of an HNSW search or the lists of an IVF search are
  // the same whatever the selector; only the distances it spares differ).
  SearchCost& searchCost() { return searchCost_; }
  SearchCost& filteredSearchCost() { return filteredSearchCost_; }
  // What one-query exact searches over a subset of labels cost (workers/search_subset.cc), by subset size.
  SearchCost& subsetSearchCost() { return subsetSearchCost_; }
  // Norms cache for batch searches of a flat L2 index (flat_norms.h).
  FlatNorms& flatNorms() { return flatNorms_; }

  // Call with the lock held (shared or exclusive); `mutated` bumps the version.
  void refresh(bool mutated);

 private:
  // Whether the FAISS objects hold metricArg() and kFactor(); call with the lock held.
  bool searchFieldsCurrent() const override;
  // Writes them; call with the exclusive lock held.
  void writeSearchFields() override;

  std::unique_ptr<faiss::Index> index_;
  std::vector<faiss::Index*> lp_;  // the index and what it wraps, when they compute METRIC_Lp
  faiss::IndexRefine* refine_ = nullptr;
  std::atomic<float> metricArg_{0};
  std::atomic<float> kFactor_{1};
  FlatNorms flatNorms_;
  SearchCost searchCost_;
  SearchCost filteredSearchCost_;
  SearchCost subsetSearchCost_;
};

}  // namespace fp
