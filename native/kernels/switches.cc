#include "switches.h"

namespace fp {

KernelSwitches& kernelSwitches() {
  static KernelSwitches switches;
  return switches;
}

std::vector<NamedKernelSwitch> namedKernelSwitches() {
  KernelSwitches& s = kernelSwitches();
  return {{"flatScan", &s.flatScan}, {"flatBatch", &s.flatBatch}, {"hnswBuild", &s.hnswBuild}, {"hnswSearch", &s.hnswSearch}, {"ivfScan", &s.ivfScan}};
}

}  // namespace fp
