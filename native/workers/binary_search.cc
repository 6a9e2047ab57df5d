#include "../binary_search.h"

#include <algorithm>

#include "../args.h"
#include "../memory_limits.h"
#include "../threads.h"
#include "binary_worker.h"
#include "binary_workers.h"
#include "search_args.h"
#include "search_result.h"

namespace fp {
namespace {

// search(x, k, nprobe?, efSearch?): Hamming distances as an Int32Array, written
// by FAISS straight into the arrays handed to JS.
class BinarySearchWorker : public BinaryWorker {
 public:
  BinarySearchWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "search", wrap),
        x_(byteRows(info[0], codeSize(), "x")),
        k_(integerArg(info[1], "k", 1, SearchCall::kMaxK)),
        tunables_(tunablesArg(info[2], info[3], handle(), wrap.typeName())),
        results_(admitted()) {}

 private:
  int64_t admitted() {
    const SearchMemory memory = binaryKnnSearchMemory(index(), x_.n, k_, handle().effective(tunables_),
                                                      static_cast<int>(std::min<int64_t>(configuredThreads(), x_.n)));
    if (memory.total() > perCallBytes()) requireWithinLimit("search", memory.total(), memory.describe());
    requireAllocatable("search", memory.temporary);
    return x_.n * k_;
  }

  void Run() override {
    ThreadScope threads(x_.n);
    const Tunables t = handle().effective(tunables_);
    handle().searchShared(t, [&] { searchBinaryIndex(index(), x_.n, x_.data, k_, results_.distances(), results_.labels()); });
  }

  Napi::Value Result(Napi::Env env) override { return results_.release(env); }

  ByteRows x_;
  int64_t k_;
  Tunables tunables_;
  BasicSearchResultArrays<int32_t> results_;
};

}  // namespace

Napi::Value startBinarySearch(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinarySearchWorker, true>(info.Env(), wrap, info);
}

}  // namespace fp
