#include "binary_index.h"

#include "addon_data.h"
#include "binary_index_type.h"
#include "errors.h"
#include "handle_release.h"
#include "workers/binary_workers.h"

namespace fp {
namespace {

// Tells this class's objects from anything else (IndexWrap's tag is another).
constexpr napi_type_tag kBinaryIndexTag = {0x3d5e1b7c0a9f4e28ULL, 0xb47c20e9f6a1d853ULL};

}  // namespace

Napi::Function BinaryIndexWrap::Define(Napi::Env env) {
  Properties properties = commonProperties();
  properties.insert(properties.end(), {
      InstanceAccessor<&BinaryIndexWrap::GetCodeSize>("codeSize"),
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
  return DefineClass(env, "NativeBinaryIndex", properties);
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

BinaryIndexWrap::BinaryIndexWrap(const Napi::CallbackInfo& info) : WrapBase(info) {
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

Napi::Value BinaryIndexWrap::GetCodeSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), d_ / 8); }

}  // namespace fp
