#include "gpu_options.h"

#include "args.h"
#include "errors.h"
#include "gpu.h"

namespace fp {
namespace {

Napi::Value field(const Napi::Value& obj, const char* name) {
  if (obj.IsUndefined() || obj.IsNull()) return obj.Env().Undefined();
  if (!obj.IsObject()) throw ArgumentError(code::kInvalidArgument, std::string("Expected an options object with ") + name);
  return obj.As<Napi::Object>().Get(name);
}

}  // namespace

bool boolOption(const Napi::Value& obj, const char* name, bool fallback) {
  const auto v = field(obj, name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw ArgumentError(code::kInvalidArgument, std::string("Expected a boolean for ") + name);
  return v.As<Napi::Boolean>().Value();
}

int64_t intOption(const Napi::Value& obj, const char* name, int64_t min, int64_t max, int64_t fallback) {
  const auto v = field(obj, name);
  return v.IsUndefined() ? fallback : integerArg(v, name, min, max);
}

int deviceOption(const Napi::Value& config) {
  const auto device = intOption(config, "device", 0, 1 << 16, 0);
  requireDevice(device);
  return static_cast<int>(device);
}

void readClonerOptions(const Napi::Value& obj, faiss::gpu::GpuClonerOptions& out) {
  out.useFloat16 = boolOption(obj, "useFloat16", out.useFloat16);
  out.useFloat16CoarseQuantizer = boolOption(obj, "useFloat16CoarseQuantizer", out.useFloat16CoarseQuantizer);
  out.usePrecomputed = boolOption(obj, "usePrecomputed", out.usePrecomputed);
  out.reserveVecs = static_cast<long>(intOption(obj, "reserveVecs", 0, int64_t{1} << 40, out.reserveVecs));
  out.storeTransposed = boolOption(obj, "storeTransposed", out.storeTransposed);
  out.verbose = false;
}

void readMultipleClonerOptions(const Napi::Value& obj, faiss::gpu::GpuMultipleClonerOptions& out) {
  readClonerOptions(obj, out);
  out.shard = boolOption(obj, "shard", out.shard);
}

}  // namespace fp
