#include <faiss/IndexBinaryIVF.h>

#include "../args.h"
#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

constexpr int64_t kMaxId = int64_t{1} << 53;  // ids arriving as JS numbers

// reconstruct(id): the stored code, as a new Uint8Array of d / 8 bytes that FAISS
// fills in place.
class BinaryReconstructWorker : public BinaryWorker {
 public:
  BinaryReconstructWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info)
      : BinaryWorker(env, "reconstruct", wrap) {
    if (info[0].IsBigInt()) {
      bool lossless = false;
      id_ = info[0].As<Napi::BigInt>().Int64Value(&lossless);
      if (!lossless) throw ArgumentError(code::kInvalidArgument, "Expected id to fit in int64");
    } else {
      id_ = integerArg(info[0], "id", -kMaxId, kMaxId);
    }
    auto out = Napi::Uint8Array::New(env, static_cast<size_t>(codeSize()));
    outSlot_ = Keep(out);
    out_ = out.Data();
  }

 private:
  void Run() override {
    SharedGuard guard(handle().lock());
    // IVF resolves ids through its direct map (and reports unknown ones); flat
    // and HNSW storage are sequential and FAISS does not check the range.
    const bool mapsIds = dynamic_cast<const faiss::IndexBinaryIVF*>(&index()) != nullptr;
    if (!mapsIds && (id_ < 0 || id_ >= index().ntotal))
      throw ArgumentError(code::kNotFound,
                          "No vector with id " + std::to_string(id_) + " (ntotal is " + std::to_string(index().ntotal) + ")");
    index().reconstruct(id_, out_);
  }

  Napi::Value Result(Napi::Env) override { return Kept(outSlot_); }

  int64_t id_ = 0;
  uint32_t outSlot_ = 0;
  uint8_t* out_ = nullptr;
};

}  // namespace

Napi::Value startBinaryReconstruct(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinaryReconstructWorker>(info.Env(), wrap, info);
}

}  // namespace fp
