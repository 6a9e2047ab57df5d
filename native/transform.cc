#include "transform.h"

#include <typeinfo>

#include "addon_data.h"
#include "args.h"
#include "build_wrapped.h"
#include "errors.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;
constexpr napi_type_tag kTransformTag = {0x3d5e0b7c41a26f98ULL, 0xa41c6e2d7f09b853ULL};

int64_t dimArg(const Napi::Value& v, const char* name, int64_t max = kMaxDimension) {
  return integerArg(v, name, 1, max);
}

bool boolArg(const Napi::Value& v, const char* name, bool fallback) {
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw ArgumentError(code::kInvalidArgument, std::string("Expected a boolean for ") + name);
  return v.As<Napi::Boolean>().Value();
}

float floatArg(const Napi::Value& v, const char* name, float fallback) {
  if (v.IsUndefined()) return fallback;
  const double x = numberArg(v, name);
  if (std::abs(x) > 1e30) throw ArgumentError(code::kInvalidArgument, std::string("Expected ") + name + " within ±1e30");
  return static_cast<float>(x);
}

// Runs a builder on the JS thread and wraps the transform under its type name.
Napi::Value build(const Napi::CallbackInfo& info, const char* type,
                  const std::function<std::unique_ptr<faiss::VectorTransform>()>& make) {
  return buildWrapped<TransformWrap, faiss::VectorTransform>(info, type, make, type);
}

// (dIn, dOut, eigenPower = 0, randomRotation = false). FAISS's PCA keeps at most
// d_in components (prepare_Ab throws after a whole training otherwise).
Napi::Value newPCAMatrix(const Napi::CallbackInfo& info) {
  return build(info, "PCAMatrix", [&] {
    const auto dIn = dimArg(info[0], "dIn");
    const auto dOut = dimArg(info[1], "dOut", dIn);
    const float eigenPower = floatArg(info[2], "eigenPower", 0);
    const bool randomRotation = boolArg(info[3], "randomRotation", false);
    return std::make_unique<faiss::PCAMatrix>(dIn, dOut, eigenPower, randomRotation);
  });
}

// (d, M, d2 = d): a rotation for a product quantizer of M sub-vectors of d2 / M.
Napi::Value newOPQMatrix(const Napi::CallbackInfo& info) {
  return build(info, "OPQMatrix", [&] {
    const auto d = dimArg(info[0], "d");
    const auto d2 = info[2].IsUndefined() ? d : dimArg(info[2], "d2");
    const auto m = integerArg(info[1], "M", 1, d2);
    if (d2 % m != 0)
      throw ArgumentError(code::kInvalidArgument, "Expected M (" + std::to_string(m) + ") to divide the output dimension (" +
                                                      std::to_string(d2) + ")");
    return std::make_unique<faiss::OPQMatrix>(d, m, d2);
  });
}

// (dIn, dOut, doPca = false): without PCA FAISS needs dIn == dOut; with it, dOut <= dIn.
Napi::Value newITQTransform(const Napi::CallbackInfo& info) {
  return build(info, "ITQTransform", [&] {
    const auto dIn = dimArg(info[0], "dIn");
    const auto dOut = dimArg(info[1], "dOut", dIn);
    const bool doPca = boolArg(info[2], "doPca", false);
    if (!doPca && dOut != dIn)
      throw ArgumentError(code::kInvalidArgument, "ITQTransform without PCA (doPca false) keeps the dimension: dOut (" +
                                                      std::to_string(dOut) + ") must equal dIn (" + std::to_string(dIn) + ")");
    return std::make_unique<faiss::ITQTransform>(dIn, dOut, doPca);
  });
}

// (dIn, dOut): untrained until init(seed) or train(x) (which uses seed 12345, as FAISS).
Napi::Value newRandomRotationMatrix(const Napi::CallbackInfo& info) {
  return build(info, "RandomRotationMatrix", [&] {
    const auto dIn = dimArg(info[0], "dIn");
    const auto dOut = dimArg(info[1], "dOut");
    return std::make_unique<faiss::RandomRotationMatrix>(dIn, dOut);
  });
}

// (d, norm = 2): FAISS 1.7.3 applies only norm 2 (apply is ERR_UNSUPPORTED otherwise).
Napi::Value newNormalizationTransform(const Napi::CallbackInfo& info) {
  return build(info, "NormalizationTransform", [&] {
    const auto d = dimArg(info[0], "d");
    const float norm = floatArg(info[1], "norm", 2.0f);
    return std::make_unique<faiss::NormalizationTransform>(d, norm);
  });
}

Napi::Value isNativeTransform(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TransformWrap::IsTransform(info[0]));
}

template <typename T>
std::unique_ptr<faiss::VectorTransform> copyIf(const faiss::VectorTransform& t) {
  if (typeid(t) != typeid(T)) return nullptr;
  return std::make_unique<T>(static_cast<const T&>(t));
}

}  // namespace

Napi::Function TransformWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeTransform",
                     {
                         InstanceAccessor<&TransformWrap::GetDIn>("dIn"),
                         InstanceAccessor<&TransformWrap::GetDOut>("dOut"),
                         InstanceAccessor<&TransformWrap::GetIsTrained>("isTrained"),
                         InstanceAccessor<&TransformWrap::GetTypeName>("typeName"),
                         InstanceAccessor<&TransformWrap::GetDisposed>("disposed"),
                         InstanceMethod<&TransformWrap::Dispose>("dispose"),
                         InstanceMethod<&TransformWrap::Forward<startTransformTrain>>("train"),
                         InstanceMethod<&TransformWrap::Forward<startTransformApply>>("apply"),
                         InstanceMethod<&TransformWrap::Forward<startTransformReverse>>("reverseTransform"),
                         InstanceMethod<&TransformWrap::Forward<startTransformInit>>("init"),
                     });
}

Napi::Object TransformWrap::Wrap(Napi::Env env, std::unique_ptr<faiss::VectorTransform> t, const std::string& typeName) {
  auto handle = std::make_shared<TransformHandle>(std::move(t), typeName);
  auto* holder = new std::shared_ptr<TransformHandle>(std::move(handle));
  try {
    return addonData(env).transformClass.New({Napi::External<std::shared_ptr<TransformHandle>>::New(env, holder)});
  } catch (...) {
    delete holder;
    throw;
  }
}

bool TransformWrap::IsTransform(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kTransformTag);
}

TransformWrap& TransformWrap::FromValue(const Napi::Value& v, const char* name) {
  if (IsTransform(v)) return *Napi::ObjectWrap<TransformWrap>::Unwrap(v.As<Napi::Object>());
  throw makeError(v.Env(), {code::kInvalidArgument, std::string("Expected a vector transform for ") + name});
}

TransformWrap* TransformWrap::Unwrap(Napi::Object wrapper) { return &FromValue(wrapper, "this"); }

TransformWrap::TransformWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TransformWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw makeError(info.Env(), {code::kInvalidArgument,
                                 "NativeTransform cannot be constructed directly; use a transform class"});
  std::unique_ptr<std::shared_ptr<TransformHandle>> holder(info[0].As<Napi::External<std::shared_ptr<TransformHandle>>>().Data());
  handle_ = std::move(*holder);
  dIn_ = handle_->transform->d_in;
  dOut_ = handle_->transform->d_out;
  typeName_ = handle_->typeName;
  info.This().As<Napi::Object>().TypeTag(&kTransformTag);
}

std::shared_ptr<TransformHandle> TransformWrap::handle() const {
  if (!handle_)
    throw makeError(Env(), {code::kDisposed, "This transform has been disposed; it cannot be used any more"});
  return handle_;
}

Napi::Value TransformWrap::GetDIn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), dIn_); }
Napi::Value TransformWrap::GetDOut(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), dOut_); }
Napi::Value TransformWrap::GetTypeName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), typeName_); }
Napi::Value TransformWrap::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !handle_); }
Napi::Value TransformWrap::GetIsTrained(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), handle()->trained.load());
}

Napi::Value TransformWrap::Dispose(const Napi::CallbackInfo& info) {
  // Operations in flight keep their own reference; the memory goes when they end.
  handle_.reset();
  return info.Env().Undefined();
}

std::unique_ptr<faiss::VectorTransform> cloneTransform(const Napi::Value& v, const char* name) {
  auto handle = TransformWrap::FromValue(v, name).handle();
  if (!handle->lock.tryLockShared())
    throw ArgumentError(code::kBusy, std::string("The ") + name +
                                         " is being trained by an operation in flight; await it before building an index over it");
  SharedGuard guard(handle->lock, SharedGuard::kAdopt);
  const faiss::VectorTransform& t = *handle->transform;
  std::unique_ptr<faiss::VectorTransform> copy;
  if (!(copy = copyIf<faiss::PCAMatrix>(t)) && !(copy = copyIf<faiss::OPQMatrix>(t)) &&
      !(copy = copyIf<faiss::ITQTransform>(t)) && !(copy = copyIf<faiss::RandomRotationMatrix>(t)) &&
      !(copy = copyIf<faiss::NormalizationTransform>(t)))
    throw ArgumentError(code::kUnsupported, "This vector transform cannot be copied");
  // OPQMatrix::pq is a training aid the caller owns (never set here): not shared.
  if (auto* opq = dynamic_cast<faiss::OPQMatrix*>(copy.get())) opq->pq = nullptr;
  return copy;
}

void defineTransforms(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = TransformWrap::Define(env);
  addonData(env).transformClass = Napi::Persistent(cls);
  exports.Set("NativeTransform", cls);
  exports.Set("isNativeTransform", Napi::Function::New<isNativeTransform>(env));
  exports.Set("newPCAMatrix", Napi::Function::New<newPCAMatrix>(env));
  exports.Set("newOPQMatrix", Napi::Function::New<newOPQMatrix>(env));
  exports.Set("newITQTransform", Napi::Function::New<newITQTransform>(env));
  exports.Set("newRandomRotationMatrix", Napi::Function::New<newRandomRotationMatrix>(env));
  exports.Set("newNormalizationTransform", Napi::Function::New<newNormalizationTransform>(env));
}

}  // namespace fp
