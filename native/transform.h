// The JS-visible wrapper around one faiss::VectorTransform (PCAMatrix, OPQMatrix,
// ITQTransform, RandomRotationMatrix, NormalizationTransform). Its training and
// application run on the libuv pool (workers/transform_ops.cc) under the
// transform's own reader-writer lock: train and init alone, apply and
// reverseTransform together. An index built over a transform
// (IndexPreTransform) owns a copy of it (cloneTransform), as IndexIDMap owns a
// copy of its index: disposing, retraining or reusing the JS transform never
// touches what the index holds, so neither can free or change the other's.
#pragma once

#include <faiss/VectorTransform.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "rwlock.h"

namespace fp {

struct TransformHandle {
  TransformHandle(std::unique_ptr<faiss::VectorTransform> t, std::string name)
      : transform(std::move(t)), typeName(std::move(name)), trained(transform->is_trained) {}
  std::unique_ptr<faiss::VectorTransform> transform;
  const std::string typeName;
  RwLock lock;
  // is_trained as of the last operation, readable from JS without the lock.
  std::atomic<bool> trained;
};

class TransformWrap : public Napi::ObjectWrap<TransformWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<faiss::VectorTransform> t, const std::string& typeName);
  static bool IsTransform(const Napi::Value& v);
  // The wrapper behind a JS value, or an ERR_INVALID_ARGUMENT error.
  static TransformWrap& FromValue(const Napi::Value& v, const char* name);
  // As IndexWrap::Unwrap: `this` not built by this class is ERR_INVALID_ARGUMENT.
  static TransformWrap* Unwrap(Napi::Object wrapper);

  explicit TransformWrap(const Napi::CallbackInfo& info);

  // The live handle, or an ERR_DISPOSED error once dispose() ran.
  std::shared_ptr<TransformHandle> handle() const;

 private:
  Napi::Value GetDIn(const Napi::CallbackInfo& info);
  Napi::Value GetDOut(const Napi::CallbackInfo& info);
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info);
  Napi::Value GetTypeName(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  template <Napi::Value (*Start)(TransformWrap&, const Napi::CallbackInfo&)>
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Start(*this, info);
  }

  std::shared_ptr<TransformHandle> handle_;
  int dIn_ = 0;
  int dOut_ = 0;
  std::string typeName_;
};

// A copy of the transform behind `v` for an index to own; taken on the JS thread,
// which never waits: a transform being trained is ERR_BUSY.
std::unique_ptr<faiss::VectorTransform> cloneTransform(const Napi::Value& v, const char* name);

// Adds newPCAMatrix, newOPQMatrix, newITQTransform, newRandomRotationMatrix,
// newNormalizationTransform and isNativeTransform to `exports`.
void defineTransforms(Napi::Env env, Napi::Object exports);

// workers/transform_ops.cc: (x) -> Promise; init: (seed) -> Promise.
Napi::Value startTransformTrain(TransformWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startTransformApply(TransformWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startTransformReverse(TransformWrap& wrap, const Napi::CallbackInfo& info);
Napi::Value startTransformInit(TransformWrap& wrap, const Napi::CallbackInfo& info);

}  // namespace fp
