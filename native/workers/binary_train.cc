#include "../args.h"
#include "../quantizer_graph_adds.h"
#include "../threads.h"
#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

// train(x): IndexBinaryIVF clusters the codes (k-means on their bits); the other
// binary types need no training.
class BinaryTrainWorker : public BinaryWorker {
 public:
  BinaryTrainWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "train", wrap) {
    x_ = byteRows(info[0], codeSize(), "x");
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    handle().applyTunables();
    ThreadScope threads;
    QuantizerGraphAdds quantizerAdds(index());
    index().train(x_.n, x_.data);
    handle().refresh(true);
  }

  ByteRows x_;
};

}  // namespace

Napi::Value startBinaryTrain(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryTrainWorker>(info.Env(), wrap, info);
}

}  // namespace fp
