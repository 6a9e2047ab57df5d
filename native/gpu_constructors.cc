#include "gpu_constructors.h"

#include <faiss/gpu/GpuIndexFlat.h>
#include <faiss/gpu/GpuIndexIVFFlat.h>
#include <faiss/gpu/GpuIndexIVFPQ.h>
#include <faiss/gpu/GpuIndexIVFScalarQuantizer.h>

#include <functional>

#include "args.h"
#include "build_wrapped.h"
#include "errors.h"
#include "gpu_index.h"
#include "gpu_options.h"
#include "gpu_resources.h"
#include "index.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;  // as constructors.cc
constexpr int64_t kMaxGpuNlist = int64_t{1} << 24;

// Builds a GPU index on `res` (its lock held: the JS thread does not wait for it,
// ERR_BUSY) and hands it to a guard that holds the resources alive.
Napi::Value buildOn(const Napi::CallbackInfo& info, const char* context,
                    const std::function<std::unique_ptr<faiss::Index>(faiss::gpu::GpuResourcesProvider*)>& make) {
  return buildWrapped<IndexWrap, faiss::Index>(info, context, [&]() -> std::unique_ptr<faiss::Index> {
    auto res = resourcesArg(info[0], "res");
    std::unique_ptr<faiss::Index> index;
    {
      auto lock = lockNowOrBusy(*res, context);
      index = make(&res->provider);
    }
    return std::make_unique<GpuIndexGuard>(std::move(index), std::vector<std::shared_ptr<GpuResourcesHandle>>{res});
  });
}

// GpuIndexConfig's fields every config has; `flatConfig.useFloat16` for an IVF's
// coarse quantizer.
void readIvfConfig(const Napi::Value& config, faiss::gpu::GpuIndexIVFConfig& out) {
  out.device = deviceOption(config);
  const Napi::Value flat = config.IsObject() ? config.As<Napi::Object>().Get("flatConfig") : config.Env().Undefined();
  out.flatConfig.device = out.device;
  out.flatConfig.useFloat16 = boolOption(flat, "useFloat16", false);
  out.flatConfig.storeTransposed = false;
}

// (res, d, metric, config): config {device, useFloat16, storeTransposed}.
Napi::Value newGpuIndexFlat(const Napi::CallbackInfo& info) {
  return buildOn(info, "GpuIndexFlat", [&](faiss::gpu::GpuResourcesProvider* provider) {
    const auto d = integerArg(info[1], "d", 1, kMaxDimension);
    const auto metric = metricOf(info[2], false, "GpuIndexFlat");
    faiss::gpu::GpuIndexFlatConfig config;
    config.device = deviceOption(info[3]);
    config.useFloat16 = boolOption(info[3], "useFloat16", false);
    config.storeTransposed = boolOption(info[3], "storeTransposed", false);  // 1.7.3 leaves it uninitialized
    return std::make_unique<faiss::gpu::GpuIndexFlat>(provider, static_cast<int>(d), metric, config);
  });
}

// (res, d, nlist, metric, config): config {device, interleavedLayout, flatConfig}.
Napi::Value newGpuIndexIVFFlat(const Napi::CallbackInfo& info) {
  return buildOn(info, "GpuIndexIVFFlat", [&](faiss::gpu::GpuResourcesProvider* provider) {
    const auto d = integerArg(info[1], "d", 1, kMaxDimension);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxGpuNlist);
    const auto metric = metricOf(info[3], false, "GpuIndexIVFFlat");
    faiss::gpu::GpuIndexIVFFlatConfig config;
    readIvfConfig(info[4], config);
    config.interleavedLayout = boolOption(info[4], "interleavedLayout", config.interleavedLayout);
    return std::make_unique<faiss::gpu::GpuIndexIVFFlat>(provider, static_cast<int>(d), static_cast<int>(nlist),
                                                         metric, config);
  });
}

// (res, d, nlist, m, nbits, metric, config): config {device, useFloat16LookupTables,
// usePrecomputedTables, interleavedLayout, useMMCodeDistance, flatConfig}.
Napi::Value newGpuIndexIVFPQ(const Napi::CallbackInfo& info) {
  return buildOn(info, "GpuIndexIVFPQ", [&](faiss::gpu::GpuResourcesProvider* provider) {
    const auto d = integerArg(info[1], "d", 1, kMaxDimension);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxGpuNlist);
    const auto m = integerArg(info[3], "m", 1, d);
    const auto nbits = integerArg(info[4], "nbits", 1, 8);  // FAISS's GPU PQ codes are of 8 bits or fewer
    const auto metric = metricOf(info[5], false, "GpuIndexIVFPQ");
    if (d % m != 0)
      throw ArgumentError(code::kInvalidArgument, "Expected m (" + std::to_string(m) + ") to divide the dimension d (" +
                                                      std::to_string(d) + ")");
    faiss::gpu::GpuIndexIVFPQConfig config;
    readIvfConfig(info[6], config);
    config.useFloat16LookupTables = boolOption(info[6], "useFloat16LookupTables", config.useFloat16LookupTables);
    config.usePrecomputedTables = boolOption(info[6], "usePrecomputedTables", config.usePrecomputedTables);
    config.interleavedLayout = boolOption(info[6], "interleavedLayout", config.interleavedLayout);
    config.useMMCodeDistance = boolOption(info[6], "useMMCodeDistance", config.useMMCodeDistance);
    return std::make_unique<faiss::gpu::GpuIndexIVFPQ>(provider, static_cast<int>(d), static_cast<int>(nlist),
                                                       static_cast<int>(m), static_cast<int>(nbits), metric, config);
  });
}

// (res, d, nlist, qtype, metric, encodeResidual, config): config {device,
// interleavedLayout, flatConfig}.
Napi::Value newGpuIndexIVFScalarQuantizer(const Napi::CallbackInfo& info) {
  return buildOn(info, "GpuIndexIVFScalarQuantizer", [&](faiss::gpu::GpuResourcesProvider* provider) {
    const auto d = integerArg(info[1], "d", 1, kMaxDimension);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxGpuNlist);
    const auto qtype = integerArg(info[3], "qtype", 0, faiss::ScalarQuantizer::QT_6bit);
    const auto metric = metricOf(info[4], false, "GpuIndexIVFScalarQuantizer");
    const bool encodeResidual = info[5].IsUndefined() ? true : info[5].ToBoolean().Value();
    faiss::gpu::GpuIndexIVFScalarQuantizerConfig config;
    readIvfConfig(info[6], config);
    config.interleavedLayout = boolOption(info[6], "interleavedLayout", config.interleavedLayout);
    return std::make_unique<faiss::gpu::GpuIndexIVFScalarQuantizer>(
        provider, static_cast<int>(d), static_cast<int>(nlist),
        static_cast<faiss::ScalarQuantizer::QuantizerType>(qtype), metric, encodeResidual, config);
  });
}

}  // namespace

void defineGpuConstructors(Napi::Env env, Napi::Object exports) {
  exports.Set("newGpuIndexFlat", Napi::Function::New<newGpuIndexFlat>(env));
  exports.Set("newGpuIndexIVFFlat", Napi::Function::New<newGpuIndexIVFFlat>(env));
  exports.Set("newGpuIndexIVFPQ", Napi::Function::New<newGpuIndexIVFPQ>(env));
  exports.Set("newGpuIndexIVFScalarQuantizer", Napi::Function::New<newGpuIndexIVFScalarQuantizer>(env));
}

}  // namespace fp
