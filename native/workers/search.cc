#include "promise_worker.h"
#include "search_args.h"
#include "workers.h"

namespace fp {
namespace {

// FAISS writes its results straight into ArrayBuffers allocated here, which are
// then handed to JS as they are: no copy of the results on the way out.
class SearchWorker : public IndexWorker {
 public:
  SearchWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "search", wrap), call_(info, handle(), wrap.typeName()) {
    auto distances = Napi::ArrayBuffer::New(env, call_.results() * sizeof(float));
    auto labels = Napi::ArrayBuffer::New(env, call_.results() * sizeof(int64_t));
    distancesSlot_ = Keep(distances);
    labelsSlot_ = Keep(labels);
    distancesData_ = static_cast<float*>(distances.Data());
    labelsData_ = static_cast<int64_t*>(labels.Data());
  }

 private:
  void Run() override {
    ThreadScope threads(call_.x.n);
    const Tunables t = handle().effective(call_.tunables);
    call_.run(handle(), t, distancesData_, labelsData_, [&](auto&& search) {
      handle().searchShared(t, search);
      return true;
    });
  }

  Napi::Value Result(Napi::Env env) override {
    return searchResult(env, Kept(distancesSlot_).As<Napi::ArrayBuffer>(), Kept(labelsSlot_).As<Napi::ArrayBuffer>(),
                        static_cast<size_t>(call_.results()));
  }

  SearchCall call_;
  uint32_t distancesSlot_ = 0;
  uint32_t labelsSlot_ = 0;
  float* distancesData_ = nullptr;
  int64_t* labelsData_ = nullptr;
};

}  // namespace

Napi::Value startSearch(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SearchWorker, true>(info.Env(), wrap, info);
}

}  // namespace fp
