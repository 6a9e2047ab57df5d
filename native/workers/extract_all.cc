#include <faiss/IVFlib.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>

#include "../args.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// Every stored vector with its id: the ids an IDMap maps to, the ids an IVF
// index stores, or 0..ntotal-1. What a rebuild needs to copy the live vectors of
// an index into a new one. Vectors are decoded one by one on this thread rather
// than with reconstruct_n, whose OpenMP loop would abort the process if FAISS
// threw inside it (an index that cannot reconstruct).
class ExtractAllWorker : public IndexWorker {
 public:
  ExtractAllWorker(Napi::Env env, IndexWrap& wrap) : IndexWorker(env, "extract_all", wrap) {}

 private:
  void Run() override {
    SharedGuard guard(handle().lock());
    const faiss::Index* inner = &index();
    const auto* idMap = dynamic_cast<const faiss::IndexIDMap*>(inner);
    if (idMap) inner = idMap->index;
    const int64_t n = inner->ntotal;
    ids_.resize(n);
    vectors_.resize(static_cast<size_t>(n) * d());
    if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(inner)) {
      int64_t at = 0;
      for (size_t list = 0; list < ivf->nlist; list++) {
        const size_t size = ivf->invlists->list_size(list);
        faiss::InvertedLists::ScopedIds listIds(ivf->invlists, list);
        for (size_t offset = 0; offset < size && at < n; offset++, at++) {
          ids_[at] = listIds[offset];
          ivf->reconstruct_from_offset(list, offset, vectors_.data() + at * d());
        }
      }
    } else {
      for (int64_t i = 0; i < n; i++) {
        ids_[i] = i;
        inner->reconstruct(i, vectors_.data() + i * d());
      }
    }
    if (idMap) {
      for (auto& id : ids_) id = idMap->id_map.at(id);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    auto out = Napi::Object::New(env);
    auto ids = Napi::BigInt64Array::New(env, ids_.size());
    std::copy(ids_.begin(), ids_.end(), ids.Data());
    auto vectors = Napi::Float32Array::New(env, vectors_.size());
    std::copy(vectors_.begin(), vectors_.end(), vectors.Data());
    out.Set("ids", ids);
    out.Set("vectors", vectors);
    return out;
  }

  std::vector<int64_t> ids_;
  std::vector<float> vectors_;
};

}  // namespace

Napi::Value startExtractAll(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ExtractAllWorker>(info.Env(), wrap);
}

}  // namespace fp
