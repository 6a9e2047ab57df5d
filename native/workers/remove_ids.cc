#include <faiss/impl/IDSelector.h>

#include "../args.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

class RemoveIdsWorker : public IndexWorker {
 public:
  RemoveIdsWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "remove_ids", wrap) {
    ids_ = idArray(info[0], -1, "ids");
    Keep(ids_.array);
  }

 private:
  void Run() override {
    // IDSelectorBatch, as Python's remove_ids(np.array) uses.
    faiss::IDSelectorBatch selector(ids_.n, ids_.data);
    ExclusiveGuard guard(handle().lock());
    ThreadScope threads;
    removed_ = index().remove_ids(selector);
    handle().refresh(removed_ > 0);
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(removed_)); }

  IdArray ids_;
  size_t removed_ = 0;
};

}  // namespace

Napi::Value startRemoveIds(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<RemoveIdsWorker>(info.Env(), wrap, info);
}

}  // namespace fp
