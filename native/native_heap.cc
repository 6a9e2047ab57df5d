#include "native_heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fp {

NativeHeap nativeHeap() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  // mallinfo2 walks every arena (each takes its lock briefly): cheap enough for
  // a once-a-second sample, not for a hot path.
  const struct mallinfo2 m = mallinfo2();
  return {true, static_cast<uint64_t>(m.uordblks + m.hblkhd), static_cast<uint64_t>(m.fordblks)};
#else
  return {false, 0, 0};
#endif
}

}  // namespace fp
