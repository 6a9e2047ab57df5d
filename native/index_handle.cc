#include "index_handle.h"

#include <faiss/IVFlib.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>

#include "io.h"

namespace fp {
namespace {

// Looks through the wrappers whose search we route ourselves (IDMap) or that
// forward search parameters (PreTransform) to find an HNSW graph, if any.
faiss::HNSW* findHnsw(faiss::Index* index) {
  while (index) {
    if (auto* h = dynamic_cast<faiss::IndexHNSW*>(index)) return &h->hnsw;
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

size_t* ivfNprobe(faiss::Index* index) {
  auto* ivf = faiss::ivflib::try_extract_index_ivf(index);
  return ivf ? &ivf->nprobe : nullptr;
}

}  // namespace

IndexHandle::IndexHandle(std::unique_ptr<faiss::Index> index, bool readOnly)
    : HandleCore(readOnly, findHnsw(index.get()), ivfNprobe(index.get()), /*nprobeInField=*/false),
      index_(std::move(index)) {
  refresh(false);
}

void IndexHandle::refresh(bool mutated) {
  record(index_->ntotal, index_->is_trained, static_cast<int64_t>(serializedSize(*index_)), mutated);
}

}  // namespace fp
