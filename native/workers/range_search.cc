#include <faiss/impl/AuxIndexStructures.h>

#include <algorithm>

#include "../args.h"
#include "../memory_limits.h"
#include "../search_dispatch.h"
#include "../search_memory.h"
#include "../selector.h"
#include "../selector_support.h"
#include "../threads.h"
#include "promise_worker.h"
#include "search_args.h"
#include "workers.h"

namespace fp {
namespace {

// The result size is only known once FAISS has run, so FAISS allocates it; the JS
// typed arrays then take over FAISS's own arrays (external ArrayBuffers freed by
// a finalizer) rather than copying them.
template <typename T>
Napi::ArrayBuffer adopt(Napi::Env env, T*& owned, size_t count) {
  if (count == 0 || owned == nullptr) return Napi::ArrayBuffer::New(env, 0);
  T* data = owned;
  owned = nullptr;  // the RangeSearchResult no longer frees it
  return Napi::ArrayBuffer::New(env, data, count * sizeof(T), [](Napi::Env, void* p) { delete[] static_cast<T*>(p); });
}

class RangeSearchWorker : public IndexWorker {
 public:
  RangeSearchWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "range_search", wrap) {
    x_ = floatRows(info[0], d(), "x");
    radius_ = static_cast<float>(numberArg(info[1], "radius"));
    tunables_ = tunablesArg(info[2], info[3], handle(), wrap.typeName());
    selector_ = optionalSelectorArg(info[4], "sel");
    if (selector_) requireSelectorSupport(index(), true);
    // What is left of the per-call limit after the temporary buffers and lims
    // bounds the results, counted as they arrive: 12 bytes each, held twice
    // (FAISS gathers each block's results in per-thread buffers before its
    // arrays, and the blocks are then joined into one result).
    const int64_t fixed = addBytes(rangeSearchTemporary(index(), x_.n, handle().effective(tunables_),
                                                        static_cast<int>(std::min<int64_t>(configuredThreads(), x_.n))),
                                   mulBytes(x_.n + 1, sizeof(size_t)));
    requireWithinLimit("range_search", fixed, "lims and temporary buffers");
    requireAllocatable("range_search", fixed);
    maxResults_ = (perCallBytes() - fixed) / static_cast<int64_t>(2 * (sizeof(float) + sizeof(int64_t)));
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * d(), d(), "x");
    result_ = std::make_unique<faiss::RangeSearchResult>(x_.n);
    ThreadScope threads(x_.n);
    const Tunables t = handle().effective(tunables_);
    handle().searchShared(t, [&] { rangeSearchIndex(index(), t, x_.n, x_.data, radius_, maxResults_, result_.get(),
                                                   selector_ ? &selector_->faiss() : nullptr); });
  }

  Napi::Value Result(Napi::Env env) override {
    const size_t total = result_->lims[x_.n];
    auto out = Napi::Object::New(env);
    out.Set("lims", Napi::BigUint64Array::New(env, x_.n + 1, adopt(env, result_->lims, x_.n + 1), 0));
    out.Set("distances", Napi::Float32Array::New(env, total, adopt(env, result_->distances, total), 0));
    out.Set("labels", Napi::BigInt64Array::New(env, total, adopt(env, result_->labels, total), 0));
    return out;
  }

  FloatRows x_;
  float radius_ = 0;
  Tunables tunables_;
  SelectorRef selector_;
  int64_t maxResults_ = 0;
  std::unique_ptr<faiss::RangeSearchResult> result_;
};

}  // namespace

Napi::Value startRangeSearch(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<RangeSearchWorker, true>(info.Env(), wrap, info);
}

}  // namespace fp
