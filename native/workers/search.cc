#include "../args.h"
#include "../search_dispatch.h"
#include "promise_worker.h"
#include "search_args.h"
#include "workers.h"

namespace fp {
namespace {

// Upper bounds that keep a typo from allocating terabytes: k per query, and
// results per call (nq * k; 2^28 results take 3 GiB).
constexpr int64_t kMaxK = 1 << 20;
constexpr int64_t kMaxResults = int64_t{1} << 28;

// FAISS writes its results straight into ArrayBuffers allocated here, which are
// then handed to JS as they are: no copy of the results on the way out.
class SearchWorker : public IndexWorker {
 public:
  SearchWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info) : IndexWorker(env, "search", wrap) {
    x_ = floatRows(info[0], d(), "x");
    k_ = integerArg(info[1], "k", 1, kMaxK);
    if (x_.n * k_ > kMaxResults)
      throw ArgumentError(code::kInvalidArgument, "Expected nq * k to be at most " + std::to_string(kMaxResults) +
                                                      " but it is " + std::to_string(x_.n * k_));
    tunables_ = tunablesArg(info[2], info[3], handle(), wrap.typeName());
    auto distances = Napi::ArrayBuffer::New(env, x_.n * k_ * sizeof(float));
    auto labels = Napi::ArrayBuffer::New(env, x_.n * k_ * sizeof(int64_t));
    Keep(x_.array);
    distancesSlot_ = Keep(distances);
    labelsSlot_ = Keep(labels);
    distancesData_ = static_cast<float*>(distances.Data());
    labelsData_ = static_cast<int64_t*>(labels.Data());
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * d(), d(), "x");
    ThreadScope threads(x_.n);
    const Tunables t = handle().effective(tunables_);
    handle().searchShared(t, [&] {
      searchIndex(index(), t, x_.n, x_.data, k_, distancesData_, labelsData_, &handle().flatNorms(), handle().version());
    });
  }

  Napi::Value Result(Napi::Env env) override {
    auto result = Napi::Object::New(env);
    const size_t count = static_cast<size_t>(x_.n * k_);
    result.Set("distances", Napi::Float32Array::New(env, count, Kept(distancesSlot_).As<Napi::ArrayBuffer>(), 0));
    result.Set("labels", Napi::BigInt64Array::New(env, count, Kept(labelsSlot_).As<Napi::ArrayBuffer>(), 0));
    return result;
  }

  FloatRows x_;
  int64_t k_ = 0;
  Tunables tunables_;
  uint32_t distancesSlot_ = 0;
  uint32_t labelsSlot_ = 0;
  float* distancesData_ = nullptr;
  int64_t* labelsData_ = nullptr;
};

}  // namespace

Napi::Value startSearch(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SearchWorker>(info.Env(), wrap, info);
}

}  // namespace fp
