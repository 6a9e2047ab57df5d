// What the C heap (glibc malloc) holds: the bytes in live allocations and the
// freed bytes it keeps. RSS cannot tell a leak from freed memory the allocator
// keeps for reuse (fragmented arenas rarely go back to the kernel, even after
// malloc_trim); the live bytes can (docs/operations.md, "Memory").
#pragma once

#include <cstdint>

namespace fp {

struct NativeHeap {
  bool available;          // false where the C library reports nothing (not glibc 2.33+)
  uint64_t inUseBytes;     // live allocations: arenas plus mmapped chunks
  uint64_t retainedBytes;  // freed and kept by the allocator
};

NativeHeap nativeHeap();

}  // namespace fp
