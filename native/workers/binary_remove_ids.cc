#include <faiss/impl/IDSelector.h>

#include "../args.h"
#include "../threads.h"
#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

// removeIds(ids) with an IDSelectorBatch, as Python's remove_ids(np.array).
class BinaryRemoveIdsWorker : public BinaryWorker {
 public:
  BinaryRemoveIdsWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "remove_ids", wrap) {
    ids_ = idArray(info[0], -1, "ids");
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    ThreadScope threads;
    faiss::IDSelectorBatch selector(ids_.n, ids_.data);
    removed_ = index().remove_ids(selector);
    handle().refresh(removed_ > 0);
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(removed_)); }

  IdArray ids_;
  size_t removed_ = 0;
};

}  // namespace

Napi::Value startBinaryRemoveIds(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryRemoveIdsWorker>(info.Env(), wrap, info);
}

}  // namespace fp
