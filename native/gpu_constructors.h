// The GPU index classes of Python faiss (CUDA build only): GpuIndexFlat (L2 / IP),
// GpuIndexIVFFlat, GpuIndexIVFPQ and GpuIndexIVFScalarQuantizer, each with its
// config object. Synchronous like the CPU constructors (constructors.h): an empty
// index is cheap to build, though the first index on a device also sets the device
// up (streams, cuBLAS).
#pragma once

#include <napi.h>

namespace fp {

// Adds newGpuIndexFlat, newGpuIndexIVFFlat, newGpuIndexIVFPQ and
// newGpuIndexIVFScalarQuantizer to `exports`.
void defineGpuConstructors(Napi::Env env, Napi::Object exports);

}  // namespace fp
