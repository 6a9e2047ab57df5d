// StandardGpuResources as JS sees it (CUDA build only): FAISS's per-process GPU
// resources (streams, cuBLAS handles, temporary memory), with the lock every call
// on an index that uses them takes. FAISS's GPU resources are not thread-safe, and
// this addon calls FAISS from many worker threads.
#pragma once

#include <faiss/gpu/StandardGpuResources.h>
#include <napi.h>

#include <memory>
#include <mutex>

namespace fp {

struct GpuResourcesHandle {
  faiss::gpu::StandardGpuResources provider;
  std::mutex mutex;
};

// The resources behind a JS object made by newGpuResources, or ERR_INVALID_ARGUMENT.
std::shared_ptr<GpuResourcesHandle> resourcesArg(const Napi::Value& v, const char* name);

// Holds a resources object's lock if it is free now, for the JS thread, which must
// not wait for a search in flight on another thread: ERR_BUSY otherwise.
std::unique_lock<std::mutex> lockNowOrBusy(GpuResourcesHandle& res, const char* what);

// Adds newGpuResources, gpuSetTempMemory and gpuNoTempMemory to `exports`.
void defineGpuResources(Napi::Env env, Napi::Object exports);

}  // namespace fp
