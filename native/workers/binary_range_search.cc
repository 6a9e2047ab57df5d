#include <faiss/impl/AuxIndexStructures.h>

#include <algorithm>
#include <limits>

#include "../args.h"
#include "../binary_search.h"
#include "../memory_limits.h"
#include "../threads.h"
#include "binary_worker.h"
#include "binary_workers.h"
#include "search_args.h"

namespace fp {
namespace {

// rangeSearch(x, radius, nprobe?, efSearch?): every stored code at a Hamming
// distance below `radius` (an integer). FAISS keeps the distances as floats in
// its RangeSearchResult; they come back as an Int32Array, like search's.
class BinaryRangeSearchWorker : public BinaryWorker {
 public:
  BinaryRangeSearchWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "range_search", wrap) {
    x_ = byteRows(info[0], codeSize(), "x");
    radius_ = static_cast<int>(integerArg(info[1], "radius", std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
    tunables_ = tunablesArg(info[2], info[3], handle(), wrap.typeName());
    // As the float range search (workers/range_search.cc): what is left of the
    // per-call limit after the temporary buffers and lims bounds the results,
    // 12 bytes each, held twice; and once more as the Int32Array of distances.
    const int64_t fixed = addBytes(binaryRangeSearchTemporary(index(), x_.n, handle().effective(tunables_),
                                                              static_cast<int>(std::min<int64_t>(configuredThreads(), x_.n))),
                                   mulBytes(x_.n + 1, sizeof(size_t)));
    requireWithinLimit("range_search", fixed, "lims and temporary buffers");
    requireAllocatable("range_search", fixed);
    maxResults_ = (perCallBytes() - fixed) / static_cast<int64_t>(2 * (sizeof(float) + sizeof(int64_t)) + sizeof(int32_t));
  }

 private:
  void Run() override {
    result_ = std::make_unique<faiss::RangeSearchResult>(x_.n);
    ThreadScope threads(x_.n);
    const Tunables t = handle().effective(tunables_);
    handle().searchShared(t, [&] { rangeSearchBinaryIndex(index(), x_.n, x_.data, radius_, maxResults_, result_.get()); });
    const size_t total = result_->lims[x_.n];
    distances_.reset(new int32_t[total]);
    for (size_t i = 0; i < total; i++) distances_[i] = static_cast<int32_t>(result_->distances[i]);
  }

  Napi::Value Result(Napi::Env env) override {
    const size_t total = result_->lims[x_.n];
    auto out = Napi::Object::New(env);
    out.Set("lims", Napi::BigUint64Array::New(env, x_.n + 1, adopt(env, result_->lims, x_.n + 1), 0));
    int32_t* distances = distances_.release();
    out.Set("distances", Napi::Int32Array::New(env, total, adopt(env, distances, total), 0));
    out.Set("labels", Napi::BigInt64Array::New(env, total, adopt(env, result_->labels, total), 0));
    return out;
  }

  // FAISS's (or our) arrays, handed to JS as external ArrayBuffers.
  template <typename T>
  static Napi::ArrayBuffer adopt(Napi::Env env, T*& owned, size_t count) {
    if (count == 0 || owned == nullptr) {
      delete[] owned;
      owned = nullptr;
      return Napi::ArrayBuffer::New(env, 0);
    }
    T* data = owned;
    owned = nullptr;
    return Napi::ArrayBuffer::New(env, data, count * sizeof(T), [](Napi::Env, void* p) { delete[] static_cast<T*>(p); });
  }

  ByteRows x_;
  int radius_ = 0;
  Tunables tunables_;
  int64_t maxResults_ = 0;
  std::unique_ptr<faiss::RangeSearchResult> result_;
  std::unique_ptr<int32_t[]> distances_;
};

}  // namespace

Napi::Value startBinaryRangeSearch(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryRangeSearchWorker, true>(info.Env(), wrap, info);
}

}  // namespace fp
