// The JS-visible wrapper around one faiss::IndexBinary: every TS binary index class
// (IndexBinaryFlat, IndexBinaryIVF, IndexBinaryHNSW) holds one. The FAISS work
// happens in workers/binary_*.cc, on the same worker machinery as IndexWrap's.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "binary_index_handle.h"

namespace fp {

class BinaryIndexWrap : public Napi::ObjectWrap<BinaryIndexWrap> {
 public:
  using Handle = BinaryIndexHandle;

  static Napi::Function Define(Napi::Env env);
  // Wraps a freshly built or loaded index in a new JS object.
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<faiss::IndexBinary> index);
  // Whether v is an object this class built (a type tag: runs none of v's code).
  static bool IsBinaryIndex(const Napi::Value& v);
  // The wrapper behind a JS value, or an ERR_INVALID_ARGUMENT error.
  static BinaryIndexWrap& FromValue(const Napi::Value& v, const char* name);
  // As IndexWrap::Unwrap: `this` not built by this class is ERR_INVALID_ARGUMENT.
  static BinaryIndexWrap* Unwrap(Napi::Object wrapper);

  explicit BinaryIndexWrap(const Napi::CallbackInfo& info);
  ~BinaryIndexWrap() override;

  // The live handle, or an ERR_DISPOSED error once dispose() ran.
  std::shared_ptr<BinaryIndexHandle> handle() const;
  void syncExternalMemory(Napi::Env env);
  const std::string& typeName() const { return typeName_; }

 private:
  Napi::Value GetD(const Napi::CallbackInfo& info);
  Napi::Value GetCodeSize(const Napi::CallbackInfo& info);
  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info);
  Napi::Value GetTypeName(const Napi::CallbackInfo& info);
  Napi::Value GetBytes(const Napi::CallbackInfo& info);
  Napi::Value GetVersion(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetNprobe(const Napi::CallbackInfo& info);
  void SetNprobe(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value GetEfSearch(const Napi::CallbackInfo& info);
  void SetEfSearch(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value GetEfConstruction(const Napi::CallbackInfo& info);
  void SetEfConstruction(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  template <Napi::Value (*Start)(BinaryIndexWrap&, const Napi::CallbackInfo&)>
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Start(*this, info);
  }

  std::shared_ptr<BinaryIndexHandle> handle_;
  int d_ = 0;
  std::string typeName_;
  int64_t reportedBytes_ = 0;
};

}  // namespace fp
