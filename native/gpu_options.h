// Reading the option objects of the GPU API (CUDA build only): the config objects of
// the GPU index constructors and GpuClonerOptions, as plain JS objects with Python
// faiss's field names (lib/gpu.ts validates them first; these checks keep a caller
// who bypasses it from passing FAISS nonsense).
#pragma once

#include <faiss/gpu/GpuClonerOptions.h>
#include <napi.h>

#include <cstdint>

namespace fp {

// `obj[name]`, or `fallback` when obj is undefined / null or has no such field.
bool boolOption(const Napi::Value& obj, const char* name, bool fallback);
int64_t intOption(const Napi::Value& obj, const char* name, int64_t min, int64_t max, int64_t fallback);

// config.device, checked against the GPUs there are (ERR_NO_SUCH_DEVICE).
int deviceOption(const Napi::Value& config);

// GpuClonerOptions: useFloat16, useFloat16CoarseQuantizer, usePrecomputed,
// reserveVecs, storeTransposed; GpuMultipleClonerOptions adds shard.
void readClonerOptions(const Napi::Value& obj, faiss::gpu::GpuClonerOptions& out);
void readMultipleClonerOptions(const Napi::Value& obj, faiss::gpu::GpuMultipleClonerOptions& out);

}  // namespace fp
