#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

class ResetWorker : public IndexWorker {
 public:
  ResetWorker(Napi::Env env, IndexWrap& wrap) : IndexWorker(env, "reset", wrap) { requireWritable(); }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    index().reset();
    handle().refresh(true);
  }
};

}  // namespace

Napi::Value startReset(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ResetWorker>(info.Env(), wrap);
}

}  // namespace fp
