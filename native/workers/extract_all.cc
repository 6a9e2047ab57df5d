#include <faiss/IndexIDMap.h>

#include "../args.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// Every stored vector with its id: the ids an IDMap maps to, or 0..ntotal-1.
// What a rebuild needs to copy the live vectors of an index into a new one.
class ExtractAllWorker : public IndexWorker {
 public:
  ExtractAllWorker(Napi::Env env, IndexWrap& wrap) : IndexWorker(env, "extract_all", wrap) {}

 private:
  void Run() override {
    SharedGuard guard(handle().lock());
    const int64_t n = index().ntotal;
    ids_.resize(n);
    vectors_.resize(static_cast<size_t>(n) * d());
    if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index())) {
      std::copy(m->id_map.begin(), m->id_map.end(), ids_.begin());
      if (n > 0) m->index->reconstruct_n(0, n, vectors_.data());
    } else {
      for (int64_t i = 0; i < n; i++) ids_[i] = i;
      if (n > 0) index().reconstruct_n(0, n, vectors_.data());
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
