#include "gpu_resources.h"

#include "args.h"
#include "errors.h"

namespace fp {
namespace {

// Marks the objects newGpuResources made (see index.cc's kIndexTag for why a tag).
constexpr napi_type_tag kGpuResourcesTag = {0x3d6b0f7e21c94a58ULL, 0x9e5a1c7d04b8f263ULL};

// The largest temporary memory one device may be given (FAISS allocates it up
// front, per device): 1 TiB, past any GPU's memory.
constexpr int64_t kMaxTempMemory = int64_t{1} << 40;

Napi::Value newGpuResources(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto obj = Napi::Object::New(env);
  auto* held = new std::shared_ptr<GpuResourcesHandle>(std::make_shared<GpuResourcesHandle>());
  napi_status status = napi_wrap(
      env, obj, held, [](napi_env, void* data, void*) { delete static_cast<std::shared_ptr<GpuResourcesHandle>*>(data); },
      nullptr, nullptr);
  if (status != napi_ok) {
    delete held;
    return throwError(env, {code::kFaiss, "StandardGpuResources: cannot wrap the resources"});
  }
  obj.TypeTag(&kGpuResourcesTag);
  return obj;
}

Napi::Value setTempMemory(const Napi::CallbackInfo& info) {
  try {
    auto res = resourcesArg(info[0], "res");
    const auto bytes = integerArg(info[1], "bytes", 0, kMaxTempMemory);
    auto lock = lockNowOrBusy(*res, "setTempMemory");
    res->provider.setTempMemory(static_cast<size_t>(bytes));
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    return throwError(info.Env(), classifyCurrentException("setTempMemory"));
  }
  return info.Env().Undefined();
}

Napi::Value noTempMemory(const Napi::CallbackInfo& info) {
  try {
    auto res = resourcesArg(info[0], "res");
    auto lock = lockNowOrBusy(*res, "noTempMemory");
    res->provider.noTempMemory();
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    return throwError(info.Env(), classifyCurrentException("noTempMemory"));
  }
  return info.Env().Undefined();
}

}  // namespace

std::shared_ptr<GpuResourcesHandle> resourcesArg(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kGpuResourcesTag))
    throw ArgumentError(code::kInvalidArgument, std::string("Expected a StandardGpuResources for ") + name);
  void* data = nullptr;
  if (napi_unwrap(v.Env(), v, &data) != napi_ok || !data)
    throw ArgumentError(code::kInvalidArgument, std::string("Expected a StandardGpuResources for ") + name);
  return *static_cast<std::shared_ptr<GpuResourcesHandle>*>(data);
}

std::unique_lock<std::mutex> lockNowOrBusy(GpuResourcesHandle& res, const char* what) {
  std::unique_lock<std::mutex> lock(res.mutex, std::try_to_lock);
  if (!lock.owns_lock())
    throw ArgumentError(code::kBusy, std::string(what) +
                                         ": an operation is in flight on an index that uses these GPU resources; "
                                         "await it, or give this index its own StandardGpuResources");
  return lock;
}

void defineGpuResources(Napi::Env env, Napi::Object exports) {
  exports.Set("newGpuResources", Napi::Function::New<newGpuResources>(env));
  exports.Set("gpuSetTempMemory", Napi::Function::New<setTempMemory>(env));
  exports.Set("gpuNoTempMemory", Napi::Function::New<noTempMemory>(env));
}

}  // namespace fp
