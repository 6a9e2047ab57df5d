#include "promise_worker.h"
#include "search_args.h"
#include "search_result.h"
#include "workers.h"

namespace fp {
namespace {

// FAISS writes its results straight into arrays allocated here, which are then
// handed to JS as they are: no copy of the results on the way out.
class SearchWorker : public IndexWorker {
 public:
  SearchWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "search", wrap), call_(info, handle(), wrap.typeName()), results_(call_.results()) {
  }

 private:
  void Run() override {
    ThreadScope threads(call_.x.n);
    const Tunables t = handle().effective(call_.tunables);
    call_.run(handle(), t, results_.distances(), results_.labels(), [&](auto&& search) {
      handle().searchShared(t, search);
      return true;
    });
  }

  Napi::Value Result(Napi::Env env) override { return results_.release(env); }

  SearchCall call_;
  SearchResultArrays results_;
};

}  // namespace

Napi::Value startSearch(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SearchWorker, true>(info.Env(), wrap, info);
}

}  // namespace fp
