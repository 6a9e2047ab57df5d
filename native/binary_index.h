// The JS-visible wrapper around one faiss::IndexBinary: every TS binary index class
// (IndexBinaryFlat, IndexBinaryIVF, IndexBinaryHNSW) holds one. The FAISS work
// happens in workers/binary_*.cc, on the same worker machinery as IndexWrap's.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "binary_index_handle.h"
#include "wrap_base.h"

namespace fp {

class BinaryIndexWrap : public WrapBase<BinaryIndexWrap, BinaryIndexHandle> {
 public:
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

 private:
  Napi::Value GetCodeSize(const Napi::CallbackInfo& info);

  template <Napi::Value (*Start)(BinaryIndexWrap&, const Napi::CallbackInfo&)>
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Start(*this, info);
  }
};

}  // namespace fp
