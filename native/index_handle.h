// The state shared between a JS Index object and the worker threads operating on
// it: a float faiss::Index, with the lock, counters and tunables every handle has
// (handle_core.h).
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/HNSW.h>

#include <memory>

#include "flat_norms.h"
#include "handle_core.h"
#include "search_cost.h"

namespace fp {

class IndexHandle : public HandleCore {
 public:
  // `readOnly`: loaded memory-mapped; FAISS would abort the process on a write.
  IndexHandle(std::unique_ptr<faiss::Index> index, bool readOnly);

  faiss::Index* index() const { return index_.get(); }

  // What one-query searches on this index cost (search_cost.h).
  SearchCost& searchCost() { return searchCost_; }
  // Norms cache for batch searches of a flat L2 index (flat_norms.h).
  FlatNorms& flatNorms() { return flatNorms_; }

  // Call with the lock held (shared or exclusive); `mutated` bumps the version.
  void refresh(bool mutated);

 private:
  std::unique_ptr<faiss::Index> index_;
  FlatNorms flatNorms_;
  SearchCost searchCost_;
};

}  // namespace fp
