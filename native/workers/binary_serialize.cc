#include "../args.h"
#include "../binary_io.h"
#include "binary_worker.h"
#include "binary_workers.h"

namespace fp {
namespace {

// serializeIndexBinary(index) -> Buffer and writeIndexBinary(index, path), as
// workers/serialize.cc: tunables copied into the FAISS object first (briefly
// exclusive), then written under the shared lock.
class BinarySerializeWorker : public BinaryWorker {
 public:
  BinarySerializeWorker(Napi::Env env, BinaryIndexWrap& wrap, const Napi::CallbackInfo& info, bool toFile)
      : BinaryWorker(env, toFile ? "write_index_binary" : "serialize_index_binary", wrap) {
    if (toFile) path_ = stringArg(info[0], "path");
  }

 private:
  void Run() override {
    {
      ExclusiveGuard guard(handle().lock());
      handle().applyTunables();
    }
    SharedGuard guard(handle().lock());
    if (path_.empty()) {
      bytes_ = serializeBinary(index());
    } else {
      writeBinaryFile(index(), path_);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    if (!bytes_) return env.Undefined();
    auto* vec = bytes_.release();
    return Napi::Buffer<uint8_t>::New(env, vec->data(), vec->size(),
                                      [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, vec);
  }

  std::string path_;
  std::unique_ptr<std::vector<uint8_t>> bytes_;
};

}  // namespace

Napi::Value startBinarySerialize(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinarySerializeWorker>(info.Env(), wrap, info, false);
}

Napi::Value startBinaryWriteFile(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<BinarySerializeWorker>(info.Env(), wrap, info, true);
}

}  // namespace fp
