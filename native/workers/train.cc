#include "../args.h"
#include "../kernels/ivf_build.h"
#include "../quantizer_graph_adds.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

class TrainWorker : public IndexWorker {
 public:
  TrainWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info) : IndexWorker(env, "train", wrap) {
    requireWritable();
    x_ = floatRows(info[0], d(), "x");
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * d(), d(), "x");
    ExclusiveGuard guard(handle().lock());
    handle().applyTunables();
    ThreadScope threads;
    QuantizerGraphAdds quantizerAdds(index());
    if (!ivfBuildTrain(index(), x_.n, x_.data)) index().train(x_.n, x_.data);
    handle().refresh(true);
  }

  FloatRows x_;
};

}  // namespace

Napi::Value startTrain(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<TrainWorker>(info.Env(), wrap, info);
}

}  // namespace fp
