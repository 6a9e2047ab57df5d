#include <faiss/IVFlib.h>
#include <faiss/IndexIDMap.h>

#include "../args.h"
#include "../memory_limits.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

constexpr int64_t kMaxId = (int64_t{1} << 53);  // ids arrive as JS numbers

int64_t idArg(const Napi::Value& v, const char* name) {
  if (v.IsBigInt()) {
    bool lossless = false;
    const int64_t id = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) throw ArgumentError(code::kInvalidArgument, std::string("Expected ") + name + " to fit in int64");
    return id;
  }
  return integerArg(v, name, -kMaxId, kMaxId);
}

// reconstruct(id) and reconstructN(i0, n): both decode stored vectors into a
// Float32Array allocated here, which FAISS fills in place.
class ReconstructWorker : public IndexWorker {
 public:
  ReconstructWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info, bool many)
      : IndexWorker(env, many ? "reconstruct_n" : "reconstruct", wrap), many_(many) {
    first_ = idArg(info[0], many ? "i0" : "id");
    count_ = many ? integerArg(info[1], "n", 0, kMaxId) : 1;
    if (many && first_ < 0) throw ArgumentError(code::kInvalidArgument, "Expected i0 to be at least 0");
    if (many && count_ > handle().ntotal())
      throw ArgumentError(code::kInvalidArgument, "Expected n to be at most ntotal (" +
                                                      std::to_string(handle().ntotal()) + ")");
    // The answer is a V8 ArrayBuffer, whose failed allocation aborts the process:
    // held to the per-call limit like a search's results.
    requireWithinLimit("reconstruct_n", mulBytes(count_, static_cast<int64_t>(d()) * sizeof(float)),
                       std::to_string(count_) + " vectors of dimension " + std::to_string(d()));
    auto out = Napi::Float32Array::New(env, static_cast<size_t>(count_ * d()));
    outSlot_ = Keep(out);
    out_ = out.Data();
  }

 private:
  void Run() override {
    SharedGuard guard(handle().lock());
    const int64_t ntotal = index().ntotal;
    // IDMap and IVF indexes resolve ids themselves (and report unknown ones);
    // sequential storage (flat, PQ, SQ, HNSW) does not check the range in FAISS,
    // so it is checked here to avoid reading past the end.
    const bool mapsIds = dynamic_cast<const faiss::IndexIDMap*>(&index()) != nullptr ||
                         faiss::ivflib::try_extract_index_ivf(&index()) != nullptr;
    if (many_) {
      if (first_ + count_ > ntotal)
        throw ArgumentError(code::kInvalidArgument, "Expected i0 + n <= ntotal (" + std::to_string(ntotal) +
                                                        ") but i0 + n = " + std::to_string(first_ + count_));
      if (dynamic_cast<const faiss::IndexIDMap*>(&index())) {
        // Base reconstruct_n runs reconstruct in an OpenMP loop, where an unknown
        // id would abort the process; one by one, FAISS's error is catchable.
        for (int64_t i = 0; i < count_; i++) index().reconstruct(first_ + i, out_ + i * d());
      } else if (count_ > 0) {
        index().reconstruct_n(first_, count_, out_);
      }
    } else {
      if (!mapsIds && (first_ < 0 || first_ >= ntotal))
        throw ArgumentError(code::kNotFound, "No vector with id " + std::to_string(first_) + " (ntotal is " +
                                                 std::to_string(ntotal) + ")");
      index().reconstruct(first_, out_);
    }
  }

  Napi::Value Result(Napi::Env) override { return Kept(outSlot_); }

  bool many_;
  int64_t first_ = 0;
  int64_t count_ = 0;
  uint32_t outSlot_ = 0;
  float* out_ = nullptr;
};

}  // namespace

Napi::Value startReconstruct(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ReconstructWorker>(info.Env(), wrap, info, false);
}

Napi::Value startReconstructN(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ReconstructWorker>(info.Env(), wrap, info, true);
}

}  // namespace fp
