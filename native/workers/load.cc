#include "../args.h"
#include "../io.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// deserializeIndex(buffer, trusted) and readIndex(path, mmap, trusted): both
// produce a new index. Untrusted input goes through the sandbox process
// (io.h), which runs here, on the worker thread, never on the JS thread.
class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, const Napi::CallbackInfo& info, bool fromFile)
      : PromiseWorker(env, fromFile ? "read_index" : "deserialize_index") {
    if (fromFile) {
      path_ = stringArg(info[0], "path");
      mmap_ = info.Length() > 1 && info[1].ToBoolean().Value();
      trusted_ = info.Length() > 2 && info[2].ToBoolean().Value();
      return;
    }
    trusted_ = info.Length() > 1 && info[1].ToBoolean().Value();
    if (!info[0].IsTypedArray() && !info[0].IsArrayBuffer())
      throw ArgumentError(code::kInvalidArgument, "Expected a Buffer or Uint8Array for buffer");
    if (info[0].IsArrayBuffer()) {
      auto ab = info[0].As<Napi::ArrayBuffer>();
      data_ = static_cast<const uint8_t*>(ab.Data());
      size_ = ab.ByteLength();
    } else {
      auto ta = info[0].As<Napi::TypedArray>();
      data_ = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      size_ = ta.ByteLength();
    }
    Keep(info[0]);
  }

 private:
  void Run() override {
    index_ = path_.empty() ? deserialize(data_, size_, trusted_) : readFile(path_, mmap_, trusted_);
  }

  Napi::Value Result(Napi::Env env) override { return IndexWrap::Wrap(env, std::move(index_), mmap_); }

  std::string path_;
  bool mmap_ = false;
  bool trusted_ = false;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::unique_ptr<faiss::Index> index_;
};

}  // namespace

Napi::Value startDeserialize(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker>(info.Env(), info, false);
}

Napi::Value startReadFile(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker>(info.Env(), info, true);
}

}  // namespace fp
