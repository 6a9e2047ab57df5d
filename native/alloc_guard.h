// Bounds what FAISS may allocate while it reads an index. FAISS's reader sizes
// its vectors from the file before reading them, so one damaged size field
// makes it allocate (and zero) tens of gigabytes, and the kernel kills the
// process. Inside an AllocationBudget scope, allocations on this thread that
// pass the budget throw std::bad_alloc instead, which becomes ERR_CORRUPT_INDEX.
#pragma once

#include <cstddef>

namespace fp {

class AllocationBudget {
 public:
  explicit AllocationBudget(size_t bytes);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;
};

// What reading `inputBytes` of index may allocate: a generous multiple (reading
// builds derived tables) plus a fixed allowance.
inline size_t readBudget(size_t inputBytes) { return 4 * inputBytes + (size_t{256} << 20); }

}  // namespace fp
