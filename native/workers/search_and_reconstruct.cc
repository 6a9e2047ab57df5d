// search_and_reconstruct: a k-NN search that also returns the results' stored
// vectors (decoded), as FAISS's Index::search_and_reconstruct.
#include "float_result.h"
#include "promise_worker.h"
#include "search_args.h"
#include "search_result.h"
#include "workers.h"

namespace fp {
namespace {

class SearchAndReconstructWorker : public IndexWorker {
 public:
  SearchAndReconstructWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "search_and_reconstruct", wrap), call_(info, handle(), wrap.typeName()) {
    // SearchCall held the results and FAISS's buffers to the limit; the
    // reconstructed vectors come on top.
    const int64_t vectorBytes = mulBytes(mulBytes(call_.results(), d()), sizeof(float));
    const SearchMemory memory = knnSearchMemory(index(), call_.x.n, call_.k, handle().effective(call_.tunables),
                                                static_cast<int>(std::min<int64_t>(configuredThreads(), call_.x.n)));
    requireWithinLimit("searchAndReconstruct", addBytes(memory.total(), vectorBytes),
                       memory.describe() + ", reconstructed vectors " + formatBytes(vectorBytes));
    results_ = std::make_unique<SearchResultArrays>(call_.results());
    vectors_ = FloatResult(call_.results() * d(), "searchAndReconstruct");
  }

 private:
  void Run() override {
    requireFinite(call_.x.data, call_.x.n * d(), d(), "x");
    ThreadScope threads(call_.x.n);
    const Tunables t = handle().effective(call_.tunables);
    handle().searchShared(t, [&] {
      searchAndReconstructIndex(index(), t, call_.x.n, call_.x.data, call_.k, results_->distances(), results_->labels(),
                                vectors_.data());
    });
  }

  Napi::Value Result(Napi::Env env) override {
    auto out = results_->release(env);
    out.Set("vectors", vectors_.release(env));
    return out;
  }

  SearchCall call_;
  std::unique_ptr<SearchResultArrays> results_;
  FloatResult vectors_;
};

}  // namespace

Napi::Value startSearchAndReconstruct(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SearchAndReconstructWorker>(info.Env(), wrap, info);
}

}  // namespace fp
