#include "../args.h"
#include "../graph_adds.h"
#include "../kernels/hnsw_build.h"
#include "../kernels/ivf_build.h"
#include "../threads.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// add(x) and addWithIds(x, ids): the same operation, with or without caller ids.
class AddWorker : public IndexWorker {
 public:
  AddWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info) : IndexWorker(env, "add", wrap) {
    requireWritable();
    x_ = floatRows(info[0], d(), "x");
    requireHnswAddMemory(x_.n);
    if (info.Length() > 1 && !info[1].IsUndefined()) ids_ = idArray(info[1], x_.n, "ids");
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * d(), d(), "x");
    ExclusiveGuard guard(handle().lock());
    handle().applyTunables();
    const faiss::HNSW* graph = handle().graphForAdd();
    ThreadScope threads(addThreadsUseful(graph));
    if (hnswBuildAdd(index(), x_.n, x_.data, ids_.data)) {
      // The addon's own HNSW construction did it (kernels/hnsw_build.h).
    } else if (ivfBuildAdd(index(), x_.n, x_.data, ids_.data)) {
      // FAISS's add, the lists found by the flat batch kernel (kernels/ivf_build.h).
    } else if (ids_.data) {
      index().add_with_ids(x_.n, x_.data, ids_.data);
    } else {
      index().add(x_.n, x_.data);
    }
    handle().graphAdded();
    handle().refresh(true);
  }

  FloatRows x_;
  IdArray ids_;
};

}  // namespace

Napi::Value startAdd(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<AddWorker>(info.Env(), wrap, info);
}

}  // namespace fp
