#include "../validate.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

class ValidateWorker : public IndexWorker {
 public:
  ValidateWorker(Napi::Env env, IndexWrap& wrap) : IndexWorker(env, "validate", wrap) {}

 private:
  void Run() override {
    SharedGuard guard(handle().lock());
    validateIndex(index());
  }
};

}  // namespace

Napi::Value startValidate(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ValidateWorker>(info.Env(), wrap);
}

}  // namespace fp
