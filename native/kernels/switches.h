// One switch per kernel of the addon's own (native/kernels/), for the comparison
// with FAISS's own code: each kernel runs only while its switch is on (the
// default), and otherwise the search goes to FAISS as it always did.
// JS: setKernels / getKernels (lib/kernels.ts).
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace fp {

struct KernelSwitches {
  std::atomic<bool> flatScan{true};  // kernels/flat_scan.h
  std::atomic<bool> hnswBuild{true};   // kernels/hnsw_build.h
  std::atomic<bool> hnswSearch{true};  // kernels/hnsw_search.h
  std::atomic<bool> ivfScan{true};     // kernels/ivf_scan.h
  std::atomic<bool> flatBatch{true};   // kernels/flat_batch.h
};

KernelSwitches& kernelSwitches();

// The switches by their JS names, for setKernels / getKernels.
struct NamedKernelSwitch {
  std::string name;
  std::atomic<bool>* on;
};
std::vector<NamedKernelSwitch> namedKernelSwitches();

}  // namespace fp
