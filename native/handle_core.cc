#include "handle_core.h"

#include "graph_adds.h"

namespace fp {

HandleCore::HandleCore(bool readOnly, faiss::HNSW* hnsw, size_t* nprobeField, bool nprobeInField,
                       faiss::ClusteringParameters* clustering, int64_t nlist)
    : readOnly_(readOnly),
      hnsw_(hnsw),
      nprobeField_(nprobeField),
      nprobeInField_(nprobeInField && nprobeField),
      clustering_(clustering),
      nlist_(nlist) {
  if (nprobeField_) nprobe_ = static_cast<int>(*nprobeField_);
  if (clustering_) kmeansSeed_ = clustering_->seed;
  if (hnsw_) {
    efSearch_ = hnsw_->efSearch;
    efConstruction_ = hnsw_->efConstruction;
  }
}

faiss::HNSW* HandleCore::graphForAdd() {
  if (!hnsw_) return nullptr;
  if (hnsw_->levels.size() != levelsPlaced_) placeLevelDraws(*hnsw_);
  return hnsw_;
}

void HandleCore::graphAdded() {
  if (hnsw_) levelsPlaced_ = hnsw_->levels.size();
}

Tunables HandleCore::effective(const Tunables& o) const {
  Tunables t;
  t.nprobe = o.nprobe >= 0 ? o.nprobe : nprobe();
  t.efSearch = o.efSearch >= 0 ? o.efSearch : efSearch();
  return t;
}

void HandleCore::applyTunables() {
  if (nprobeField_) *nprobeField_ = static_cast<size_t>(nprobe());
  if (clustering_) clustering_->seed = kmeansSeed();
  if (hnsw_) {
    hnsw_->efSearch = efSearch();
    hnsw_->efConstruction = efConstruction();
  }
}

void HandleCore::writeFields(const Tunables& t) {
  if (hnsw_) hnsw_->efSearch = t.efSearch;
  if (nprobeInField_) *nprobeField_ = static_cast<size_t>(t.nprobe);
}

void HandleCore::record(int64_t ntotal, bool trained, int64_t bytes, bool mutated) {
  ntotal_ = ntotal;
  isTrained_ = trained;
  bytes_ = bytes;
  if (mutated) version_++;
}

}  // namespace fp
