#include "../args.h"
#include "../binary_index.h"
#include "../binary_io.h"
#include "../pinned_memory.h"
#include "binary_workers.h"
#include "promise_worker.h"

namespace fp {
namespace {

// deserializeIndexBinary(buffer, trusted) and readIndexBinary(path, trusted), as
// workers/load.cc: untrusted input goes through the sandbox (binary_io.h), from
// this worker thread.
class BinaryLoadWorker : public PromiseWorker {
 public:
  BinaryLoadWorker(Napi::Env env, const Napi::CallbackInfo& info, bool fromFile)
      : PromiseWorker(env, fromFile ? "read_index_binary" : "deserialize_index_binary") {
    trusted_ = info.Length() > 1 && info[1].ToBoolean().Value();
    if (fromFile) {
      path_ = stringArg(info[0], "path");
      return;
    }
    bytes_ = pinMemory(info[0], "buffer");
    if (bytes_.shared)
      throw ArgumentError(code::kInvalidArgument,
                          "Expected buffer in an ArrayBuffer but it views a SharedArrayBuffer, which other threads can "
                          "change while it is read; copy it into a Buffer first (Buffer.from(view))");
  }

 private:
  void Run() override {
    index_ = path_.empty() ? deserializeBinary(bytes_.data, bytes_.bytes, trusted_) : readBinaryFile(path_, trusted_);
  }

  Napi::Value Result(Napi::Env env) override { return BinaryIndexWrap::Wrap(env, std::move(index_)); }

  std::string path_;
  bool trusted_ = false;
  PinnedMemory bytes_;
  std::unique_ptr<faiss::IndexBinary> index_;
};

}  // namespace

Napi::Value startDeserializeBinary(const Napi::CallbackInfo& info) {
  return startWorker<BinaryLoadWorker>(info.Env(), info, false);
}

Napi::Value startReadBinaryFile(const Napi::CallbackInfo& info) {
  return startWorker<BinaryLoadWorker>(info.Env(), info, true);
}

}  // namespace fp
