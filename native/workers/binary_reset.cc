#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

// reset(): removes every code; an IVF keeps its training.
class BinaryResetWorker : public BinaryWorker {
 public:
  BinaryResetWorker(Napi::Env env, BinaryIndexWrap& wrap) : BinaryWorker(env, "reset", wrap) {}

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    index().reset();
    handle().refresh(true);
  }
};

}  // namespace

Napi::Value startBinaryReset(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryResetWorker>(info.Env(), wrap);
}

}  // namespace fp
