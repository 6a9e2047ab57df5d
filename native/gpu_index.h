// A GPU index as the addon holds it (CUDA build only): FAISS's GPU index (or a CPU
// wrapper over GPU indexes, as index_cpu_to_gpu makes of an IndexIDMap, or one per
// GPU, as index_cpu_to_gpu_multiple does), behind the DeviceIndex interface
// (device_index.h) that the CPU build's code knows. Every call takes the lock of
// each GpuResources it uses (gpu_resources.h), since FAISS's GPU resources are not
// thread-safe; the handle's reader-writer lock (handle_core.h) still orders
// searches and writes as for any index.
#pragma once

#include <faiss/gpu/GpuIndexIVF.h>

#include <memory>
#include <vector>

#include "device_index.h"
#include "gpu_resources.h"

namespace fp {

class GpuIndexGuard final : public DeviceIndex {
 public:
  GpuIndexGuard(std::unique_ptr<faiss::Index> index, std::vector<std::shared_ptr<GpuResourcesHandle>> resources);
  // Frees the device memory under the resources' locks.
  ~GpuIndexGuard() override;

  std::string typeName() const override;
  std::unique_ptr<faiss::Index> toCpu() const override;
  size_t deviceBytes() const override;
  size_t* nprobeField() override { return ivfs_.empty() ? nullptr : &nprobe_; }
  std::vector<int> devices() const override;

  void train(idx_t n, const float* x) override;
  void add(idx_t n, const float* x) override;
  void add_with_ids(idx_t n, const float* x, const idx_t* xids) override;
  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
  // FAISS's GPU indexes have no range search: ERR_UNSUPPORTED.
  void range_search(idx_t n, const float* x, float radius, faiss::RangeSearchResult* result,
                    const faiss::SearchParameters* params = nullptr) const override;
  void assign(idx_t n, const float* x, idx_t* labels, idx_t k = 1) const override;
  void reset() override;
  size_t remove_ids(const faiss::IDSelector& sel) override;
  void reconstruct(idx_t key, float* recons) const override;
  void reconstruct_n(idx_t i0, idx_t ni, float* recons) const override;
  void search_and_reconstruct(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels, float* recons,
                              const faiss::SearchParameters* params = nullptr) const override;

 private:
  // Runs fn with every resources lock held, taken in address order (resources_ is
  // sorted) so that two indexes sharing resources never wait on each other in a cycle.
  template <typename F>
  auto locked(F&& fn) const -> decltype(fn());
  // Copies the sizes FAISS's callers read from the wrapper (ntotal, is_trained).
  void mirror();

  std::unique_ptr<faiss::Index> index_;
  std::vector<std::shared_ptr<GpuResourcesHandle>> resources_;
  std::vector<faiss::gpu::GpuIndexIVF*> ivfs_;  // every GPU IVF inside, for nprobe
  size_t nprobe_ = 1;
};

}  // namespace fp
