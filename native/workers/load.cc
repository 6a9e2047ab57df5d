#include "../args.h"
#include "../binary_index.h"
#include "../binary_io.h"
#include "../io.h"
#include "../pinned_memory.h"
#include "binary_workers.h"
#include "promise_worker.h"
#include "workers.h"

namespace fp {
namespace {

// FAISS's reader of each index kind (as serialize.cc's writers): its index
// format, or its binary-index format, and the wrapper of what was read. Only a
// float index is read memory-mapped (FAISS 1.7.3 maps IVF lists only), so only
// readIndex takes `mmap`.
template <typename Wrap>
struct Reader;

template <>
struct Reader<IndexWrap> {
  using IndexT = faiss::Index;
  static constexpr bool kMaps = true;  // readIndex(path, mmap, trusted)
  static std::unique_ptr<IndexT> fromBytes(const uint8_t* data, size_t size, bool trusted) { return deserialize(data, size, trusted); }
  static std::unique_ptr<IndexT> fromFile(const std::string& path, bool mmap, bool trusted) { return readFile(path, mmap, trusted); }
  static Napi::Object wrap(Napi::Env env, std::unique_ptr<IndexT> index, bool mmap) { return IndexWrap::Wrap(env, std::move(index), mmap); }
};

template <>
struct Reader<BinaryIndexWrap> {
  using IndexT = faiss::IndexBinary;
  static constexpr bool kMaps = false;  // readIndexBinary(path, trusted)
  static std::unique_ptr<IndexT> fromBytes(const uint8_t* data, size_t size, bool trusted) { return deserializeBinary(data, size, trusted); }
  static std::unique_ptr<IndexT> fromFile(const std::string& path, bool, bool trusted) { return readBinaryFile(path, trusted); }
  static Napi::Object wrap(Napi::Env env, std::unique_ptr<IndexT> index, bool) { return BinaryIndexWrap::Wrap(env, std::move(index)); }
};

// deserializeIndex(buffer, trusted) and readIndex(path, mmap, trusted), and their
// binary twins (deserializeIndexBinary(buffer, trusted), readIndexBinary(path,
// trusted)): each produces a new index. Untrusted input goes through the sandbox
// process (io.h, binary_io.h), which runs here, on the worker thread, never on
// the JS thread.
template <typename Wrap>
class LoadWorker : public PromiseWorker {
  using R = Reader<Wrap>;

 public:
  LoadWorker(Napi::Env env, const Napi::CallbackInfo& info, const char* name, bool fromFile) : PromiseWorker(env, name) {
    if (fromFile) {
      path_ = stringArg(info[0], "path");
      const size_t trustedAt = R::kMaps ? 2 : 1;
      mmap_ = R::kMaps && info.Length() > 1 && info[1].ToBoolean().Value();
      trusted_ = info.Length() > trustedAt && info[trustedAt].ToBoolean().Value();
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
    index_ = path_.empty() ? R::fromBytes(bytes_.data, bytes_.bytes, trusted_) : R::fromFile(path_, mmap_, trusted_);
  }

  Napi::Value Result(Napi::Env env) override { return R::wrap(env, std::move(index_), mmap_); }

  std::string path_;
  bool mmap_ = false;
  bool trusted_ = false;
  PinnedMemory bytes_;  // the buffer to deserialize
  std::unique_ptr<typename R::IndexT> index_;
};

}  // namespace

Napi::Value startDeserialize(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker<IndexWrap>>(info.Env(), info, "deserialize_index", false);
}

Napi::Value startReadFile(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker<IndexWrap>>(info.Env(), info, "read_index", true);
}

Napi::Value startDeserializeBinary(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker<BinaryIndexWrap>>(info.Env(), info, "deserialize_index_binary", false);
}

Napi::Value startReadBinaryFile(const Napi::CallbackInfo& info) {
  return startWorker<LoadWorker<BinaryIndexWrap>>(info.Env(), info, "read_index_binary", true);
}

}  // namespace fp
