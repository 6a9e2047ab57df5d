#include "gpu.h"

#include <cuda_runtime_api.h>

#include <string>

#include "errors.h"
#include "gpu_cloner.h"
#include "gpu_constructors.h"
#include "gpu_resources.h"

namespace fp {
namespace {

Napi::Value getNumGpus(const Napi::CallbackInfo& info) {
  try {
    return Napi::Number::New(info.Env(), gpuCount());
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
}

// [{device, freeBytes, totalBytes}] for every GPU, as CUDA reports them (what
// every process on the device uses, not only this one's indexes).
Napi::Value gpuMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const int n = gpuCount();
    auto out = Napi::Array::New(env, n);
    int previous = 0;
    cudaGetDevice(&previous);
    for (int device = 0; device < n; device++) {
      size_t freeBytes = 0, totalBytes = 0;
      if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(&freeBytes, &totalBytes) != cudaSuccess) {
        const std::string why = cudaGetErrorString(cudaGetLastError());
        cudaSetDevice(previous);
        throw ArgumentError(code::kGpuDriver, "gpuMemory: device " + std::to_string(device) + ": " + why);
      }
      auto entry = Napi::Object::New(env);
      entry.Set("device", device);
      entry.Set("freeBytes", static_cast<double>(freeBytes));
      entry.Set("totalBytes", static_cast<double>(totalBytes));
      out.Set(device, entry);
    }
    cudaSetDevice(previous);
    return out;
  } catch (const ArgumentError& e) {
    return throwError(env, e.info);
  }
}

}  // namespace

int gpuCount() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err == cudaErrorNoDevice) {
    cudaGetLastError();  // clear it, as FAISS does after a failed call
    return 0;
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw ArgumentError(code::kGpuDriver, std::string("CUDA cannot list the GPUs: ") + cudaGetErrorString(err) +
                                              " (install or update the NVIDIA driver: docs/gpu.md)");
  }
  return n;
}

void requireDevice(int64_t device) {
  const int n = gpuCount();
  if (device < 0 || device >= n)
    throw ArgumentError(code::kNoSuchDevice, "No GPU " + std::to_string(device) + ": this machine has " +
                                                 std::to_string(n) + (n == 1 ? " GPU" : " GPUs") +
                                                 (n > 0 ? " (0 to " + std::to_string(n - 1) + ")" : ""));
}

void defineGpu(Napi::Env env, Napi::Object exports) {
  exports.Set("getNumGpus", Napi::Function::New<getNumGpus>(env));
  exports.Set("gpuMemory", Napi::Function::New<gpuMemory>(env));
  defineGpuResources(env, exports);
  defineGpuConstructors(env, exports);
  defineGpuCloners(env, exports);
}

}  // namespace fp
