// One switch per search kernel of the addon's own (native/kernels/), for the
// comparison with FAISS's code: off, the search is FAISS's. All start on.
#pragma once

#include <atomic>

namespace fp::kernels {

struct KernelSwitches {
  std::atomic<bool> hnswSearch{true};
};

KernelSwitches& kernelSwitches();

}  // namespace fp::kernels
