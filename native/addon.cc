// Module entry point: registers the index class, the constructors and the
// module-level functions.
#include <faiss/Index.h>
#include <faiss/utils/utils.h>
#include <napi.h>

#include "addon_data.h"
#include "args.h"
#include "binary_constructors.h"
#include "binary_index.h"
#include "blas_blocks.h"
#include "constructors.h"
#include "distances.h"
#include "errors.h"
#ifdef FAISS_PROXY_GPU
#include "gpu.h"
#endif
#include "index.h"
#include "kmeans.h"
#include "kernels/stats.h"
#include "kernels/switches.h"
#include "memory_limits.h"
#include "library_pin.h"
#include "native_heap.h"
#include "search_cost.h"
#include "search_lanes.h"
#include "selector.h"
#include "graph_adds.h"
#include "threads.h"
#include "transform.h"
#include "value_column.h"
#include "workers/binary_workers.h"
#include "workers/workers.h"

namespace fp {
namespace {

Napi::Value setErrorClassFn(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) return throwError(info.Env(), {code::kInvalidArgument, "Expected a constructor"});
  setErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  try {
    const int64_t n = integerArg(info[0], "n", 0, INT32_MAX);
    if (n > maxFixedThreads())
      throw ArgumentError(code::kResourceLimit, "setNumThreads: at most " + std::to_string(maxFixedThreads()) +
                                                    " threads (4 per core, at least 8) but received " + std::to_string(n));
    setFixedThreads(static_cast<int>(n));
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
  return info.Env().Undefined();
}

Napi::Value setGraphAddThreadsFn(const Napi::CallbackInfo& info) {
  try {
    setGraphAddThreads(static_cast<int>(integerArg(info[0], "n", 0, maxFixedThreads())));
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
  return info.Env().Undefined();
}

Napi::Value getGraphAddThreadsFn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), graphAddThreads()); }

Napi::Value setInlineSearchBudget(const Napi::CallbackInfo& info) {
  try {
    setInlineBudgetNs(integerArg(info[0], "microseconds", 0, 1'000'000) * 1000);
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
  return info.Env().Undefined();
}

Napi::Value getInlineSearchBudget(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(inlineBudgetNs() / 1000));
}

Napi::Value setSearchLanes(const Napi::CallbackInfo& info) {
  try {
    setLaneSettings({static_cast<int>(integerArg(info[0], "threads", 0, 1024)),
                     integerArg(info[1], "spinMicroseconds", 0, 1'000'000) * 1000});
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
  return info.Env().Undefined();
}

Napi::Value getSearchLanes(const Napi::CallbackInfo& info) {
  const LaneSettings s = laneSettings();
  auto out = Napi::Object::New(info.Env());
  out.Set("threads", s.threads);
  out.Set("spinMicroseconds", static_cast<double>(s.spinNs / 1000));
  return out;
}

// setKernel(name, on): lib/kernels.ts validates the names and values first.
Napi::Value setKernel(const Napi::CallbackInfo& info) {
  try {
    const std::string name = stringArg(info[0], "name");
    if (!info[1].IsBoolean()) throw ArgumentError(code::kInvalidArgument, "setKernels: expected a boolean for " + name);
    for (const auto& k : namedKernelSwitches()) {
      if (k.name == name) {
        k.on->store(info[1].As<Napi::Boolean>().Value());
        return info.Env().Undefined();
      }
    }
    throw ArgumentError(code::kInvalidArgument, "setKernels: no kernel named " + name);
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
}

Napi::Value getKernels(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  for (const auto& k : namedKernelSwitches()) out.Set(k.name, k.on->load());
  return out;
}

Napi::Value kernelStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  for (const auto& k : namedKernelStats()) {
    auto kernel = Napi::Object::New(env);
    kernel.Set(k.counted, static_cast<double>(k.searches));
    auto fallbacks = Napi::Object::New(env);
    for (const auto& [reason, count] : k.fallbacks) fallbacks.Set(reason, static_cast<double>(count));
    kernel.Set("fallbacks", fallbacks);
    out.Set(k.name, kernel);
  }
  return out;
}

Napi::Value setMemoryLimits(const Napi::CallbackInfo& info) {
  try {
    setPerCallBytes(integerArg(info[0], "perCallBytes", kMinPerCallBytes, kMaxPerCallBytes));
  } catch (const ArgumentError& e) {
    return throwError(info.Env(), e.info);
  }
  return info.Env().Undefined();
}

Napi::Value getMemoryLimits(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("perCallBytes", static_cast<double>(perCallBytes()));
  return out;
}

Napi::Value isNativeIndex(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), IndexWrap::IsIndex(info[0]));
}

Napi::Value isNativeBinaryIndex(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), BinaryIndexWrap::IsBinaryIndex(info[0]));
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), configuredThreads());
}

// What V8 counts as external memory (every live index's size included), which
// process.memoryUsage() does not show.
Napi::Value externalMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(info.Env(), 0)));
}

// The C heap's live and retained bytes, or null where the C library does not say.
Napi::Value nativeHeapFn(const Napi::CallbackInfo& info) {
  const NativeHeap h = nativeHeap();
  if (!h.available) return info.Env().Null();
  auto out = Napi::Object::New(info.Env());
  out.Set("inUseBytes", static_cast<double>(h.inUseBytes));
  out.Set("retainedBytes", static_cast<double>(h.retainedBytes));
  return out;
}

Napi::Value poolStatsFn(const Napi::CallbackInfo& info) {
  const PoolStats s = poolStats();
  auto out = Napi::Object::New(info.Env());
  out.Set("tasks", static_cast<double>(s.tasks));
  out.Set("inlineSearches", static_cast<double>(s.inlineSearches));
  out.Set("waitSeconds", s.waitSeconds);
  out.Set("running", s.running);
  const LaneStats lanes = laneStats();
  out.Set("laneJobs", static_cast<double>(lanes.jobs));
  out.Set("laneWakes", static_cast<double>(lanes.wakes));
  out.Set("laneSpinSeconds", lanes.spinSeconds);
  return out;
}

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("faissVersion", std::to_string(FAISS_VERSION_MAJOR) + "." + std::to_string(FAISS_VERSION_MINOR) + "." +
                              std::to_string(FAISS_VERSION_PATCH));
  out.Set("isa", FAISS_PROXY_ISA);
  out.Set("compileOptions", faiss::get_compile_options());
  out.Set("cores", coreCount());
#ifdef FAISS_PROXY_GPU
  // CMakeLists.txt defines both from FAISS's faiss-build-info.json.
  out.Set("gpu", true);
  out.Set("cudaVersion", FAISS_PROXY_CUDA_VERSION);
  out.Set("cudaArchs", FAISS_PROXY_CUDA_ARCHS);
#else
  out.Set("gpu", false);
  out.Set("cudaVersion", info.Env().Null());
  out.Set("cudaArchs", info.Env().Null());
#endif
  return out;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  pinLibrary();
  tuneBlasBlocks();
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  Napi::Function indexClass = IndexWrap::Define(env);
  data->indexClass = Napi::Persistent(indexClass);
  exports.Set("NativeIndex", indexClass);
  exports.Set("isNativeIndex", Napi::Function::New<isNativeIndex>(env));
  defineConstructors(env, exports);
  defineTransforms(env, exports);
  defineDistances(env, exports);
  defineKmeans(env, exports);
  exports.Set("deserializeIndex", Napi::Function::New<startDeserialize>(env));
  exports.Set("readIndex", Napi::Function::New<startReadFile>(env));
  Napi::Function binaryIndexClass = BinaryIndexWrap::Define(env);
  data->binaryIndexClass = Napi::Persistent(binaryIndexClass);
  exports.Set("NativeBinaryIndex", binaryIndexClass);
  exports.Set("isNativeBinaryIndex", Napi::Function::New<isNativeBinaryIndex>(env));
  defineBinaryConstructors(env, exports);
  exports.Set("deserializeIndexBinary", Napi::Function::New<startDeserializeBinary>(env));
  exports.Set("readIndexBinary", Napi::Function::New<startReadBinaryFile>(env));
  exports.Set("setErrorClass", Napi::Function::New<setErrorClassFn>(env));
  exports.Set("setNumThreads", Napi::Function::New<setNumThreads>(env));
  exports.Set("getNumThreads", Napi::Function::New<getNumThreads>(env));
  exports.Set("setGraphAddThreads", Napi::Function::New<setGraphAddThreadsFn>(env));
  exports.Set("getGraphAddThreads", Napi::Function::New<getGraphAddThreadsFn>(env));
  exports.Set("setMemoryLimits", Napi::Function::New<setMemoryLimits>(env));
  exports.Set("getMemoryLimits", Napi::Function::New<getMemoryLimits>(env));
  exports.Set("setInlineSearchBudget", Napi::Function::New<setInlineSearchBudget>(env));
  exports.Set("getInlineSearchBudget", Napi::Function::New<getInlineSearchBudget>(env));
  exports.Set("setSearchLanes", Napi::Function::New<setSearchLanes>(env));
  exports.Set("getSearchLanes", Napi::Function::New<getSearchLanes>(env));
  exports.Set("setKernel", Napi::Function::New<setKernel>(env));
  exports.Set("getKernels", Napi::Function::New<getKernels>(env));
  exports.Set("kernelStats", Napi::Function::New<kernelStats>(env));
  exports.Set("buildInfo", Napi::Function::New<buildInfo>(env));
  exports.Set("externalMemory", Napi::Function::New<externalMemory>(env));
  exports.Set("nativeHeap", Napi::Function::New<nativeHeapFn>(env));
  exports.Set("poolStats", Napi::Function::New<poolStatsFn>(env));
  defineSelectors(env, exports);
  defineValueColumns(env, exports);
#ifdef FAISS_PROXY_GPU
  defineGpu(env, exports);  // in the CPU build lib/gpu.ts answers for it
#endif
  return exports;
}

}  // namespace fp

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return fp::Init(env, exports); }

NODE_API_MODULE(faiss_node, InitAddon)
