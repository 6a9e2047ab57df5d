// The GPU half of the addon (CUDA build only: CMakeLists.txt compiles native/gpu*.cc
// with FAISS_PROXY_GPU). In the CPU build none of it exists, and the TS layer
// (lib/gpu.ts) answers getNumGpus() with 0 and every other GPU call with
// ERR_UNSUPPORTED.
#pragma once

#include <napi.h>

namespace fp {

// CUDA's device count: 0 when there is no GPU; ERR_GPU_DRIVER when the driver is
// missing or older than the CUDA runtime the addon was built with. (FAISS's own
// getNumDevices aborts the process on the latter.)
int gpuCount();

// Throws ERR_NO_SUCH_DEVICE unless 0 <= device < gpuCount(). FAISS checks some
// device numbers with an assertion that aborts the process, so every one that
// comes from JS is checked here first.
void requireDevice(int64_t device);

// Adds getNumGpus, gpuMemory, the resources (gpu_resources.h), the GPU index
// constructors (gpu_constructors.h) and the cloners (gpu_cloner.h) to `exports`.
void defineGpu(Napi::Env env, Napi::Object exports);

}  // namespace fp
