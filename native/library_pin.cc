#include "library_pin.h"

#include <dlfcn.h>

namespace fp {

void pinLibrary() {
  // RTLD_NODELETE on a library already loaded (RTLD_NOLOAD) makes every later
  // dlclose leave it, and so its dependencies, in place.
  static const bool pinned = [] {
    Dl_info info;
    return dladdr(reinterpret_cast<void*>(&pinLibrary), &info) != 0 && info.dli_fname != nullptr &&
           dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;
  }();
  (void)pinned;
}

}  // namespace fp
