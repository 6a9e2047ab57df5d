#include <faiss/IndexBinaryHNSW.h>

#include "../args.h"
#include "../graph_adds.h"
#include "../threads.h"
#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

// add(x) and addWithIds(x, ids), as workers/add.cc for float indexes.
class BinaryAddWorker : public BinaryWorker {
 public:
  BinaryAddWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "add", wrap) {
    x_ = byteRows(info[0], codeSize(), "x");
    requireHnswAddMemory(x_.n);
    if (info.Length() > 1 && !info[1].IsUndefined()) ids_ = idArray(info[1], x_.n, "ids");
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock());
    handle().applyTunables();
    const faiss::HNSW* graph = handle().graphForAdd();
    ThreadScope threads(addThreadsUseful(graph));
    if (ids_.data) {
      index().add_with_ids(x_.n, x_.data, ids_.data);
    } else {
      index().add(x_.n, x_.data);
    }
    handle().graphAdded();
    handle().refresh(true);
  }

  ByteRows x_;
  IdArray ids_;
};

}  // namespace

Napi::Value startBinaryAdd(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryAddWorker>(info.Env(), wrap, info);
}

}  // namespace fp
