#include "../args.h"
#include "../io.h"
#include "../pinned_memory.h"
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
    bytes_ = pinMemory(info[0], "buffer");
    // FAISS's reader trusts what it has read so far: bytes that another thread can
    // rewrite meanwhile cannot be parsed safely.
    if (bytes_.shared)
      throw ArgumentError(code::kInvalidArgument,
                          "Expected buffer in an ArrayBuffer but it views a SharedArrayBuffer, which other threads can "
                          "change while it is read; copy it into a Buffer first (Buffer.from(view))");
  }

 private:
  void Run() override {
    index_ = path_.empty() ? deserialize(bytes_.data, bytes_.bytes, trusted_) : readFile(path_, mmap_, trusted_);
  }

  Napi::Value Result(Napi::Env env) override { return IndexWrap::Wrap(env, std::move(index_), mmap_); }

  std::string path_;
  bool mmap_ = false;
  bool trusted_ = false;
  PinnedMemory bytes_;  // deserializeIndex's buffer
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
