#include "gpu_cloner.h"

#include <faiss/gpu/GpuCloner.h>

#include <memory>
#include <vector>

#include "args.h"
#include "gpu.h"
#include "gpu_index.h"
#include "gpu_options.h"
#include "gpu_resources.h"
#include "index.h"
#include "index_type.h"
#include "workers/promise_worker.h"

namespace fp {
namespace {

// The source index's handle, with the tunables set from JS (nprobe, ...) copied
// into the FAISS object first, as serialize does, so that the copy carries them.
std::shared_ptr<IndexHandle> sourceOf(const Napi::Value& v) { return IndexWrap::FromValue(v, "index").handle(); }

// FAISS's cloner copies what it has no GPU version of to the CPU (Cloner::clone_Index):
// an index with nothing on a GPU is refused, not passed off as a GPU index.
std::unique_ptr<faiss::Index> requireOnGpu(std::unique_ptr<GpuIndexGuard> guard, const faiss::Index& source) {
  if (guard->devices().empty())
    throw ArgumentError(code::kUnsupported, indexTypeName(source) +
                                                " has no GPU version in FAISS 1.7.3: IndexFlat, IndexIVFFlat, IndexIVFPQ and "
                                                "IndexIVFScalarQuantizer (also under IndexIDMap / IndexIDMap2) have");
  return guard;
}

const faiss::Index& cpuIndexOf(IndexHandle& handle) {
  if (dynamic_cast<const DeviceIndex*>(handle.index()))
    throw ArgumentError(code::kInvalidArgument, "index is already on a GPU; copy it with indexGpuToCpu first");
  return *handle.index();
}

// Settles with the new index, wrapped for JS.
class CopyWorker : public PromiseWorker {
 public:
  CopyWorker(Napi::Env env, const char* name, const Napi::Value& source)
      : PromiseWorker(env, name), source_(sourceOf(source)) {
    Keep(source);
  }

 protected:
  // Runs fn with the source under its shared lock, its tunables applied.
  template <typename F>
  void withSource(F&& fn) {
    {
      ExclusiveGuard guard(source_->lock());
      source_->applyTunables();
    }
    SharedGuard guard(source_->lock());
    fn(*source_);
  }

  Napi::Value Result(Napi::Env env) override { return IndexWrap::Wrap(env, std::move(out_)); }

  std::shared_ptr<IndexHandle> source_;
  std::unique_ptr<faiss::Index> out_;
};

// (res, device, index, options)
class CpuToGpuWorker : public CopyWorker {
 public:
  CpuToGpuWorker(Napi::Env env, const Napi::CallbackInfo& info)
      : CopyWorker(env, "index_cpu_to_gpu", info[2]), res_(resourcesArg(info[0], "res")) {
    device_ = static_cast<int>(integerArg(info[1], "device", 0, 1 << 16));
    requireDevice(device_);
    readClonerOptions(info[3], options_);
  }

 private:
  void Run() override {
    std::unique_ptr<faiss::Index> copy;
    withSource([&](IndexHandle& source) {
      const faiss::Index& cpu = cpuIndexOf(source);
      std::lock_guard<std::mutex> lock(res_->mutex);
      copy.reset(faiss::gpu::index_cpu_to_gpu(&res_->provider, device_, &cpu, &options_));
    });
    out_ = requireOnGpu(
        std::make_unique<GpuIndexGuard>(std::move(copy), std::vector<std::shared_ptr<GpuResourcesHandle>>{res_}),
        *source_->index());
  }

  std::shared_ptr<GpuResourcesHandle> res_;
  int device_ = 0;
  faiss::gpu::GpuClonerOptions options_;
};

// (index, options): one StandardGpuResources per GPU, made here, as Python's
// index_cpu_to_all_gpus does; replicas of the index, or shards with options.shard.
class CpuToAllGpusWorker : public CopyWorker {
 public:
  CpuToAllGpusWorker(Napi::Env env, const Napi::CallbackInfo& info) : CopyWorker(env, "index_cpu_to_all_gpus", info[0]) {
    const int n = gpuCount();
    if (n == 0) throw ArgumentError(code::kNoSuchDevice, "indexCpuToAllGpus: this machine has no GPU");
    for (int device = 0; device < n; device++) {
      resources_.push_back(std::make_shared<GpuResourcesHandle>());
      devices_.push_back(device);
    }
    readMultipleClonerOptions(info[1], options_);
  }

 private:
  void Run() override {
    std::vector<faiss::gpu::GpuResourcesProvider*> providers;
    for (auto& r : resources_) providers.push_back(&r->provider);
    std::unique_ptr<faiss::Index> copy;
    withSource([&](IndexHandle& source) {
      const faiss::Index& cpu = cpuIndexOf(source);
      // Made here and not yet shared: no other thread can hold their locks.
      copy.reset(faiss::gpu::index_cpu_to_gpu_multiple(providers, devices_, &cpu, &options_));
    });
    out_ = requireOnGpu(std::make_unique<GpuIndexGuard>(std::move(copy), resources_), *source_->index());
  }

  std::vector<std::shared_ptr<GpuResourcesHandle>> resources_;
  std::vector<int> devices_;
  faiss::gpu::GpuMultipleClonerOptions options_;
};

// (index): a standard CPU FAISS copy of a GPU index.
class GpuToCpuWorker : public CopyWorker {
 public:
  GpuToCpuWorker(Napi::Env env, const Napi::CallbackInfo& info) : CopyWorker(env, "index_gpu_to_cpu", info[0]) {}

 private:
  void Run() override {
    withSource([&](IndexHandle& source) {
      auto* gpu = dynamic_cast<const DeviceIndex*>(source.index());
      if (!gpu) throw ArgumentError(code::kInvalidArgument, "indexGpuToCpu: index is not on a GPU");
      out_ = gpu->toCpu();
    });
  }
};

Napi::Value indexCpuToGpu(const Napi::CallbackInfo& info) { return startWorker<CpuToGpuWorker>(info.Env(), info); }
Napi::Value indexCpuToAllGpus(const Napi::CallbackInfo& info) { return startWorker<CpuToAllGpusWorker>(info.Env(), info); }
Napi::Value indexGpuToCpu(const Napi::CallbackInfo& info) { return startWorker<GpuToCpuWorker>(info.Env(), info); }

}  // namespace

void defineGpuCloners(Napi::Env env, Napi::Object exports) {
  exports.Set("indexCpuToGpu", Napi::Function::New<indexCpuToGpu>(env));
  exports.Set("indexCpuToAllGpus", Napi::Function::New<indexCpuToAllGpus>(env));
  exports.Set("indexGpuToCpu", Napi::Function::New<indexGpuToCpu>(env));
}

}  // namespace fp
