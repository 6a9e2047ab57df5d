// Replaces operator new/delete for the code linked into this addon (our sources
// and the static libfaiss; symbols stay hidden, so the rest of the process keeps
// the standard ones). Outside an AllocationBudget nothing changes but a
// thread-local check.
#include "alloc_guard.h"

#include <cstdlib>
#include <new>

namespace fp {
namespace {

thread_local size_t budgetLeft = 0;
thread_local bool budgeted = false;

void* allocate(size_t size) {
  if (budgeted) {
    if (size > budgetLeft) throw std::bad_alloc();
    budgetLeft -= size;
  }
  if (size == 0) size = 1;
  void* p = std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}

void* allocateAligned(size_t size, size_t alignment) {
  if (budgeted) {
    if (size > budgetLeft) throw std::bad_alloc();
    budgetLeft -= size;
  }
  void* p = nullptr;
  if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1) != 0) throw std::bad_alloc();
  return p;
}

}  // namespace

AllocationBudget::AllocationBudget(size_t bytes) {
  budgetLeft = bytes;
  budgeted = true;
}

AllocationBudget::~AllocationBudget() { budgeted = false; }

}  // namespace fp

void* operator new(size_t size) { return fp::allocate(size); }
void* operator new[](size_t size) { return fp::allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return fp::allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try {
    return fp::allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t size, std::align_val_t a) { return fp::allocateAligned(size, static_cast<size_t>(a)); }
void* operator new[](size_t size, std::align_val_t a) { return fp::allocateAligned(size, static_cast<size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
