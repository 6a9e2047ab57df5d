#include "../binary_index.h"
#include "binary_workers.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// reset(): removes every vector (or code); an IVF keeps its training. Over the
// wrap type (IndexWrap, BinaryIndexWrap); a memory-mapped index cannot change.
template <typename Wrap>
class ResetWorker : public WrapWorker<Wrap> {
 public:
  ResetWorker(Napi::Env env, Wrap& wrap) : WrapWorker<Wrap>(env, "reset", wrap) { this->requireWritable(); }

 private:
  void Run() override {
    ExclusiveGuard guard(this->handle().lock());
    this->index().reset();
    this->handle().refresh(true);
  }
};

}  // namespace

Napi::Value startReset(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ResetWorker<IndexWrap>>(info.Env(), wrap);
}

Napi::Value startBinaryReset(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ResetWorker<BinaryIndexWrap>>(info.Env(), wrap);
}

}  // namespace fp
