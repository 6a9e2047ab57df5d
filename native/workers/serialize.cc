#include "../args.h"
#include "../binary_io.h"
#include "../io.h"
#include "binary_worker.h"
#include "binary_workers.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// FAISS's writer of each index kind: its index format, or its binary-index format.
std::unique_ptr<std::vector<uint8_t>> bytesOf(const faiss::Index& index) { return serialize(index); }
std::unique_ptr<std::vector<uint8_t>> bytesOf(const faiss::IndexBinary& index) { return serializeBinary(index); }
void writeTo(const faiss::Index& index, const std::string& path) { writeFile(index, path); }
void writeTo(const faiss::IndexBinary& index, const std::string& path) { writeBinaryFile(index, path); }

// serializeIndex(index) -> Buffer and writeIndex(index, path), and their binary
// twins, over the wrap type (IndexWrap, BinaryIndexWrap). Tunables set from JS are
// copied into the FAISS object first (briefly exclusive) so the file carries them,
// as Python's would; the write itself only shares the lock, so searches go on
// while a large index is written.
template <typename Wrap>
class SerializeWorker : public WrapWorker<Wrap> {
 public:
  SerializeWorker(Napi::Env env, Wrap& wrap, const Napi::CallbackInfo& info, const char* name, bool toFile)
      : WrapWorker<Wrap>(env, name, wrap) {
    if (toFile) path_ = stringArg(info[0], "path");
  }

 private:
  void Run() override {
    {
      ExclusiveGuard guard(this->handle().lock());
      this->handle().applyTunables();
    }
    SharedGuard guard(this->handle().lock());
    if (path_.empty()) {
      bytes_ = bytesOf(this->index());
    } else {
      writeTo(this->index(), path_);
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
  return startWorker<SerializeWorker<IndexWrap>>(info.Env(), wrap, info, "serialize_index", false);
}

Napi::Value startWriteFile(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SerializeWorker<IndexWrap>>(info.Env(), wrap, info, "write_index", true);
}

Napi::Value startBinarySerialize(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SerializeWorker<BinaryIndexWrap>>(info.Env(), wrap, info, "serialize_index_binary", false);
}

Napi::Value startBinaryWriteFile(BinaryIndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SerializeWorker<BinaryIndexWrap>>(info.Env(), wrap, info, "write_index_binary", true);
}

}  // namespace fp
