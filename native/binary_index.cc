#include "binary_index.h"

#include "addon_data.h"
#include "binary_index_type.h"
#include "errors.h"
#include "handle_release.h"
#include "tunable_accessors.h"
#include "workers/binary_workers.h"

namespace fp {
namespace {

// Tells this class's objects from anything else (IndexWrap's tag is another).
constexpr napi_type_tag kBinaryIndexTag = {0x3d5e1b7c0a9f4e28ULL, 0xb47c20e9f6a1d853ULL};

}  // namespace

Napi::Function BinaryIndexWrap::Define(Napi::Env env) {
  return DefineClass(
      env, "NativeBinaryIndex",
      {
          InstanceAccessor<&BinaryIndexWrap::GetD>("d"),
          InstanceAccessor<&BinaryIndexWrap::GetCodeSize>("codeSize"),
          InstanceAccessor<&BinaryIndexWrap::GetNtotal>("ntotal"),
          InstanceAccessor<&BinaryIndexWrap::GetIsTrained>("isTrained"),
          InstanceAccessor<&BinaryIndexWrap::GetTypeName>("typeName"),
          InstanceAccessor<&BinaryIndexWrap::GetBytes>("bytes"),
          InstanceAccessor<&BinaryIndexWrap::GetVersion>("version"),
          InstanceAccessor<&BinaryIndexWrap::GetDisposed>("disposed"),
          InstanceAccessor<&BinaryIndexWrap::GetNprobe, &BinaryIndexWrap::SetNprobe>("nprobe"),
          InstanceAccessor<&BinaryIndexWrap::GetEfSearch, &BinaryIndexWrap::SetEfSearch>("efSearch"),
          InstanceAccessor<&BinaryIndexWrap::GetEfConstruction, &BinaryIndexWrap::SetEfConstruction>("efConstruction"),
          InstanceMethod<&BinaryIndexWrap::Dispose>("dispose"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryTrain>>("train"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryAdd>>("add"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinarySearch>>("search"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryRangeSearch>>("rangeSearch"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryRemoveIds>>("removeIds"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryReconstruct>>("reconstruct"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryReset>>("reset"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinarySerialize>>("serialize"),
          InstanceMethod<&BinaryIndexWrap::Forward<startBinaryWriteFile>>("writeFile"),
      });
}

Napi::Object BinaryIndexWrap::Wrap(Napi::Env env, std::unique_ptr<faiss::IndexBinary> index) {
  auto* raw = index.release();
  try {
    return addonData(env).binaryIndexClass.New({Napi::External<faiss::IndexBinary>::New(env, raw)});
  } catch (...) {
    delete raw;
    throw;
  }
}

bool BinaryIndexWrap::IsBinaryIndex(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kBinaryIndexTag);
}

BinaryIndexWrap& BinaryIndexWrap::FromValue(const Napi::Value& v, const char* name) {
  if (IsBinaryIndex(v)) return *Napi::ObjectWrap<BinaryIndexWrap>::Unwrap(v.As<Napi::Object>());
  throw makeError(v.Env(), {code::kInvalidArgument, std::string("Expected a FAISS binary index for ") + name});
}

BinaryIndexWrap* BinaryIndexWrap::Unwrap(Napi::Object wrapper) { return &FromValue(wrapper, "this"); }

BinaryIndexWrap::BinaryIndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BinaryIndexWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw makeError(info.Env(), {code::kInvalidArgument,
                                 "NativeBinaryIndex cannot be constructed directly; use a binary index class or "
                                 "indexBinaryFactory()"});
  std::unique_ptr<faiss::IndexBinary> index(info[0].As<Napi::External<faiss::IndexBinary>>().Data());
  d_ = index->d;
  typeName_ = binaryIndexTypeName(*index);
  handle_ = releasedOffThread(new BinaryIndexHandle(std::move(index)));
  info.This().As<Napi::Object>().TypeTag(&kBinaryIndexTag);
  syncExternalMemory(info.Env());
}

BinaryIndexWrap::~BinaryIndexWrap() { handle_.reset(); }

std::shared_ptr<BinaryIndexHandle> BinaryIndexWrap::handle() const {
  if (!handle_) throw makeError(Env(), {code::kDisposed, "This index has been disposed; it cannot be used any more"});
  return handle_;
}

void BinaryIndexWrap::syncExternalMemory(Napi::Env env) {
  const int64_t now = handle_ ? handle_->bytes() : 0;
  if (now != reportedBytes_) {
    Napi::MemoryManagement::AdjustExternalMemory(env, now - reportedBytes_);
    reportedBytes_ = now;
  }
}

Napi::Value BinaryIndexWrap::GetD(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), d_); }
Napi::Value BinaryIndexWrap::GetCodeSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), d_ / 8); }
Napi::Value BinaryIndexWrap::GetTypeName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), typeName_); }
Napi::Value BinaryIndexWrap::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !handle_); }
Napi::Value BinaryIndexWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(handle()->ntotal()));
}
Napi::Value BinaryIndexWrap::GetIsTrained(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), handle()->isTrained());
}
Napi::Value BinaryIndexWrap::GetBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(handle()->bytes()));
}
Napi::Value BinaryIndexWrap::GetVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(handle()->version()));
}

Napi::Value BinaryIndexWrap::GetNprobe(const Napi::CallbackInfo& info) {
  return getTunable(info.Env(), *handle(), Tunable::kNprobe);
}
void BinaryIndexWrap::SetNprobe(const Napi::CallbackInfo& info, const Napi::Value& v) {
  setTunable(info.Env(), *handle(), Tunable::kNprobe, typeName_, v);
}
Napi::Value BinaryIndexWrap::GetEfSearch(const Napi::CallbackInfo& info) {
  return getTunable(info.Env(), *handle(), Tunable::kEfSearch);
}
void BinaryIndexWrap::SetEfSearch(const Napi::CallbackInfo& info, const Napi::Value& v) {
  setTunable(info.Env(), *handle(), Tunable::kEfSearch, typeName_, v);
}
Napi::Value BinaryIndexWrap::GetEfConstruction(const Napi::CallbackInfo& info) {
  return getTunable(info.Env(), *handle(), Tunable::kEfConstruction);
}
void BinaryIndexWrap::SetEfConstruction(const Napi::CallbackInfo& info, const Napi::Value& v) {
  setTunable(info.Env(), *handle(), Tunable::kEfConstruction, typeName_, v);
}

Napi::Value BinaryIndexWrap::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();  // operations in flight keep their own reference
  syncExternalMemory(info.Env());
  return info.Env().Undefined();
}

}  // namespace fp
