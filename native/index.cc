#include "index.h"

#include "addon_data.h"
#include "args.h"
#include "device_index.h"
#include "errors.h"
#include "handle_release.h"
#include "index_type.h"
#include "metrics.h"
#include "selector_support.h"
#include "workers/workers.h"

namespace fp {
namespace {

// IndexRefine's k_factor, as the bound validate.cc holds a file's to.
constexpr double kMaxKFactor = 1024;

// Marks the objects this class built, so that FromValue tells them from an object
// made from NativeIndex.prototype, or wrapped by another addon, without running any
// of the caller's code (instanceof runs a Proxy's traps; unwrap trusts any wrap).
constexpr napi_type_tag kIndexTag = {0x6a1f3c2e9b7d4a15ULL, 0x8c2e47f0d39b5a61ULL};

}  // namespace

Napi::Function IndexWrap::Define(Napi::Env env) {
  Properties properties = commonProperties();
  properties.insert(properties.end(), {
      InstanceAccessor<&IndexWrap::GetMetricType>("metricType"),
      InstanceAccessor<&IndexWrap::GetBatchable>("batchable"),
      InstanceAccessor<&IndexWrap::GetFilterable>("filterable"),
      InstanceAccessor<&IndexWrap::GetDevice>("device"),
      InstanceAccessor<&IndexWrap::GetMetricArg, &IndexWrap::SetMetricArg>("metricArg"),
      InstanceAccessor<&IndexWrap::GetKFactor, &IndexWrap::SetKFactor>("kFactor"),
      InstanceMethod<&IndexWrap::Forward<startTrain>>("train"),
      InstanceMethod<&IndexWrap::Forward<startAdd>>("add"),
      InstanceMethod<&IndexWrap::Forward<startSearch>>("search"),
      InstanceMethod<&IndexWrap::Forward<searchInline>>("searchInline"),
      InstanceMethod<&IndexWrap::Forward<startRangeSearch>>("rangeSearch"),
      InstanceMethod<&IndexWrap::Forward<startRemoveIds>>("removeIds"),
      InstanceMethod<&IndexWrap::Forward<startReconstruct>>("reconstruct"),
      InstanceMethod<&IndexWrap::Forward<startReconstructN>>("reconstructN"),
      InstanceMethod<&IndexWrap::Forward<startReset>>("reset"),
      InstanceMethod<&IndexWrap::Forward<startMergeFrom>>("mergeFrom"),
      InstanceMethod<&IndexWrap::Forward<startMakeDirectMap>>("makeDirectMap"),
      InstanceMethod<&IndexWrap::Forward<startSerialize>>("serialize"),
      InstanceMethod<&IndexWrap::Forward<startWriteFile>>("writeFile"),
      InstanceMethod<&IndexWrap::Forward<startExtractAll>>("extractAll"),
      InstanceMethod<&IndexWrap::Forward<startSearchAndReconstruct>>("searchAndReconstruct"),
      InstanceMethod<&IndexWrap::Forward<startSearchSubset>>("searchSubset"),
      InstanceMethod<&IndexWrap::Forward<searchSubsetInline>>("searchSubsetInline"),
  });
  return DefineClass(env, "NativeIndex", properties);
}

Napi::Object IndexWrap::Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index, bool readOnly) {
  auto* raw = index.release();
  try {
    return addonData(env).indexClass.New(
        {Napi::External<faiss::Index>::New(env, raw), Napi::Boolean::New(env, readOnly)});
  } catch (...) {
    delete raw;
    throw;
  }
}

bool IndexWrap::IsIndex(const Napi::Value& v) { return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kIndexTag); }

IndexWrap& IndexWrap::FromValue(const Napi::Value& v, const char* name) {
  if (IsIndex(v)) return *Napi::ObjectWrap<IndexWrap>::Unwrap(v.As<Napi::Object>());
  throw makeError(v.Env(), {code::kInvalidArgument, std::string("Expected a FAISS index for ") + name});
}

IndexWrap* IndexWrap::Unwrap(Napi::Object wrapper) { return &FromValue(wrapper, "this"); }

IndexWrap::IndexWrap(const Napi::CallbackInfo& info) : WrapBase(info) {
  if (info.Length() != 2 || !info[0].IsExternal())
    throw makeError(info.Env(), {code::kInvalidArgument,
                                 "NativeIndex cannot be constructed directly; use an index class or indexFactory()"});
  std::unique_ptr<faiss::Index> index(info[0].As<Napi::External<faiss::Index>>().Data());
  d_ = static_cast<int>(index->d);
  metric_ = static_cast<int>(index->metric_type);
  typeName_ = indexTypeName(*index);
  batchable_ = gainsFromBatching(*index);
  filterable_ = filtersKnnSearch(*index);
  if (auto* gpu = dynamic_cast<const DeviceIndex*>(index.get())) {
    const auto devices = gpu->devices();
    if (!devices.empty()) device_ = devices.front();
  }
  handle_ = releasedOffThread(new IndexHandle(std::move(index), info[1].ToBoolean().Value()));
  info.This().As<Napi::Object>().TypeTag(&kIndexTag);
  syncExternalMemory(info.Env());
}

Napi::Value IndexWrap::GetMetricType(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), metric_); }
Napi::Value IndexWrap::GetBatchable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), batchable_); }
Napi::Value IndexWrap::GetFilterable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), filterable_); }
Napi::Value IndexWrap::GetDevice(const Napi::CallbackInfo& info) {
  return device_ < 0 ? info.Env().Undefined() : Napi::Number::New(info.Env(), device_);
}

Napi::Value IndexWrap::GetMetricArg(const Napi::CallbackInfo& info) {
  auto h = handle();
  return Napi::Number::New(info.Env(), h->isLp() ? h->metricArg() : 0);
}
void IndexWrap::SetMetricArg(const Napi::CallbackInfo& info, const Napi::Value& v) {
  auto h = handle();
  if (!h->isLp())
    throw makeError(info.Env(), {code::kUnsupported, typeName_ + " does not use metricArg (only METRIC_Lp indexes do: it is their p)"});
  try {
    h->setMetricArg(metricArgValue(v));
  } catch (const ArgumentError& e) {
    throw makeError(info.Env(), e.info);
  }
}

Napi::Value IndexWrap::GetKFactor(const Napi::CallbackInfo& info) {
  auto h = handle();
  return h->hasRefine() ? Napi::Number::New(info.Env(), h->kFactor()) : info.Env().Undefined();
}
void IndexWrap::SetKFactor(const Napi::CallbackInfo& info, const Napi::Value& v) {
  auto h = handle();
  if (!h->hasRefine())
    throw makeError(info.Env(), {code::kUnsupported, typeName_ + " has no kFactor (only refine indexes do)"});
  try {
    const double f = numberArg(v, "kFactor");
    if (f < 1 || f > kMaxKFactor)
      throw ArgumentError(code::kInvalidArgument, "Expected a number between 1 and " + std::to_string(int(kMaxKFactor)) + " for kFactor");
    h->setKFactor(static_cast<float>(f));
  } catch (const ArgumentError& e) {
    throw makeError(info.Env(), e.info);
  }
}

}  // namespace fp
