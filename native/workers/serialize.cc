#include "../args.h"
#include "../io.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// serializeIndex(index) -> Buffer and writeIndex(index, path). Tunables set from
// JS are copied into the FAISS object first (briefly exclusive) so the file
// carries them, as Python's would; the write itself only shares the lock, so
// searches go on while a large index is written.
class SerializeWorker : public IndexWorker {
 public:
  SerializeWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info, bool toFile)
      : IndexWorker(env, toFile ? "write_index" : "serialize_index", wrap) {
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
      bytes_ = serialize(index());
    } else {
      writeFile(index(), path_);
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

Napi::Value startSerialize(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SerializeWorker>(info.Env(), wrap, info, false);
}

Napi::Value startWriteFile(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SerializeWorker>(info.Env(), wrap, info, true);
}

}  // namespace fp
