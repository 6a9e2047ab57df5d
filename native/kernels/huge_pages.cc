#include "huge_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; glibc 2.36's headers predate it
#endif

namespace fp {
namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
constexpr size_t kSmallestRegion = size_t{4} << 20;
// At most this much of a region is collapsed per call: one huge page (a
// one-query search can run on the JS thread, which must not stall long).
constexpr uintptr_t kCollapsePerCall = kHugePage;

// The regions seen last, by where they start, and how far each is advised. A
// region freed and another allocated at the same address is taken as advised
// up to there: at worst that part goes without huge pages.
struct Region {
  uintptr_t begin = 0;
  uintptr_t advisedEnd = 0;
};
constexpr size_t kRemembered = 32;
std::mutex regionsMutex;
Region regions[kRemembered];
size_t nextSlot = 0;

// The part of [first, last) (huge-page aligned) to advise now, marked as done.
bool claim(uintptr_t begin, uintptr_t first, uintptr_t last, uintptr_t* from, uintptr_t* to) {
  const std::lock_guard<std::mutex> lock(regionsMutex);
  Region* r = std::find_if(regions, regions + kRemembered, [&](const Region& x) { return x.begin == begin; });
  if (r == regions + kRemembered) {
    r = &regions[nextSlot];
    nextSlot = (nextSlot + 1) % kRemembered;
    *r = Region{begin, first};
  }
  *from = std::max(r->advisedEnd, first);
  *to = std::min(last, *from + kCollapsePerCall);
  if (*to <= *from) return false;
  r->advisedEnd = *to;
  return true;
}

}  // namespace

void adviseHugePages(const void* data, size_t bytes) {
  if (bytes < kSmallestRegion) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (begin + bytes) & ~(kHugePage - 1);
  uintptr_t from, to;
  if (last <= first || !claim(begin, first, last, &from, &to)) return;
  void* const p = reinterpret_cast<void*>(from);
  // Errors (EINVAL where THP is off or the kernel older, EAGAIN / ENOMEM when no
  // huge page is free) leave the pages as they were: nothing to report.
  if (madvise(p, to - from, MADV_HUGEPAGE) == 0) madvise(p, to - from, MADV_COLLAPSE);
}

void adviseHugePagesNow(const void* data, size_t bytes) {
  if (bytes < kSmallestRegion) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (begin + bytes) & ~(kHugePage - 1);
  if (last <= first) return;
  void* const p = reinterpret_cast<void*>(first);
  if (madvise(p, last - first, MADV_HUGEPAGE) == 0) madvise(p, last - first, MADV_COLLAPSE);
}

}  // namespace fp
