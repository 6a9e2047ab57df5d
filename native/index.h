// The JS-visible wrapper around one faiss::Index. Every TS index class (IndexFlatL2,
// IndexIVFPQ, ...) holds one of these; the FAISS work itself happens in workers/.
#pragma once

#include <napi.h>

#include <memory>

#include "index_handle.h"
#include "wrap_base.h"

namespace fp {

class IndexWrap : public WrapBase<IndexWrap, IndexHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps a freshly built or loaded index in a new JS object.
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index, bool readOnly = false);
  // Whether v is an object this class built (not one made from its prototype).
  static bool IsIndex(const Napi::Value& v);
  // The wrapper behind a JS value, or an ERR_INVALID_ARGUMENT error.
  static IndexWrap& FromValue(const Napi::Value& v, const char* name);
  // Hides ObjectWrap::Unwrap, which node-addon-api calls on `this` before every
  // method and accessor: `this` not built by this class (a plain object, one made
  // from NativeIndex.prototype, another addon's wrap) is ERR_INVALID_ARGUMENT,
  // not an uncoded error or someone else's pointer taken for an IndexWrap.
  static IndexWrap* Unwrap(Napi::Object wrapper);

  explicit IndexWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value GetMetricType(const Napi::CallbackInfo& info);
  Napi::Value GetBatchable(const Napi::CallbackInfo& info);
  Napi::Value GetFilterable(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetMetricArg(const Napi::CallbackInfo& info);
  void SetMetricArg(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value GetKFactor(const Napi::CallbackInfo& info);
  void SetKFactor(const Napi::CallbackInfo& info, const Napi::Value& v);

  // Hands a method call to the free function that starts its worker.
  template <Napi::Value (*Start)(IndexWrap&, const Napi::CallbackInfo&)>
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Start(*this, info);
  }

  int metric_ = 0;
  bool batchable_ = false;  // the FAISS type never changes under a wrapper
  bool filterable_ = false;  // nor does whether it filters (selector_support.h)
  int device_ = -1;  // the GPU it is on (device_index.h); -1: the CPU
};

}  // namespace fp
