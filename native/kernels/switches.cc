#include "switches.h"

namespace fp::kernels {

KernelSwitches& kernelSwitches() {
  static KernelSwitches switches;
  return switches;
}

}  // namespace fp::kernels
