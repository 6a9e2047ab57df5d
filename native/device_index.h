// An index whose data lives on an accelerator: what the rest of the addon needs to
// know of one, with nothing of CUDA, so that the CPU build's shared code (the index
// type, serialization, the search paths) handles it without #ifdefs. The one
// implementation is native/gpu_index.h, compiled in the CUDA build only; in the CPU
// build no DeviceIndex is ever made and every dynamic_cast to it is null.
#pragma once

#include <faiss/Index.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace fp {

class DeviceIndex : public faiss::Index {
 public:
  DeviceIndex(idx_t d, faiss::MetricType metric) : faiss::Index(d, metric) {}

  // Python faiss's class name of what it holds ("GpuIndexFlat", "GpuIndexIVFPQ",
  // "IndexIDMap2" over a GPU index, ...).
  virtual std::string typeName() const = 0;
  // A standard CPU FAISS copy (FAISS's index_gpu_to_cpu): what is written to a file
  // or a buffer, so that a file written from a GPU index is one any FAISS reads.
  virtual std::unique_ptr<faiss::Index> toCpu() const = 0;
  // What its data takes in device memory (an estimate from its sizes; io.h's
  // serializedSize reports it as the index's bytes).
  virtual size_t deviceBytes() const = 0;
  // The GPU IVF's nprobe as the handle keeps it (handle_core.h), or null for an
  // index with no inverted lists. Searches copy it into the GPU index.
  virtual size_t* nprobeField() = 0;
  // The devices its data lives on.
  virtual std::vector<int> devices() const = 0;
};

}  // namespace fp
