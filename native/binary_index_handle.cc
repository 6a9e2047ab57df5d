#include "binary_index_handle.h"

#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexBinaryIVF.h>

#include "binary_io.h"

namespace fp {
namespace {

faiss::HNSW* hnswOf(faiss::IndexBinary* index) {
  auto* h = dynamic_cast<faiss::IndexBinaryHNSW*>(index);
  return h ? &h->hnsw : nullptr;
}

size_t* nprobeOf(faiss::IndexBinary* index) {
  auto* ivf = dynamic_cast<faiss::IndexBinaryIVF*>(index);
  return ivf ? &ivf->nprobe : nullptr;
}

int64_t nlistOf(faiss::IndexBinary* index) {
  auto* ivf = dynamic_cast<faiss::IndexBinaryIVF*>(index);
  return ivf ? static_cast<int64_t>(ivf->nlist) : 0;
}

faiss::ClusteringParameters* clusteringOf(faiss::IndexBinary* index) {
  auto* ivf = dynamic_cast<faiss::IndexBinaryIVF*>(index);
  return ivf ? &ivf->cp : nullptr;
}

}  // namespace

BinaryIndexHandle::BinaryIndexHandle(std::unique_ptr<faiss::IndexBinary> index)
    : HandleCore(/*readOnly=*/false, hnswOf(index.get()), nprobeOf(index.get()), /*nprobeInField=*/true,
                 clusteringOf(index.get()), nlistOf(index.get())),
      index_(std::move(index)) {
  refresh(false);
}

void BinaryIndexHandle::refresh(bool mutated) {
  record(index_->ntotal, index_->is_trained, static_cast<int64_t>(binarySerializedSize(*index_)), mutated);
}

}  // namespace fp
