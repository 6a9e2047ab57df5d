// Moving indexes between the CPU and GPUs (CUDA build only), as Python faiss's
// index_cpu_to_gpu, index_cpu_to_all_gpus and index_gpu_to_cpu: each a copy, made
// on a worker thread (a large index takes seconds to copy), each giving a new index.
#pragma once

#include <napi.h>

namespace fp {

// Adds indexCpuToGpu(res, device, index, options), indexCpuToAllGpus(index,
// options) and indexGpuToCpu(index) to `exports`; each returns a promise.
void defineGpuCloners(Napi::Env env, Napi::Object exports);

}  // namespace fp
