#include "blas_blocks.h"

#include <faiss/utils/distances.h>

#include <mutex>

namespace fp {

void tuneBlasBlocks() {
  static std::once_flag once;
  std::call_once(once, [] {
    faiss::distance_compute_blas_database_bs = 4096;
    faiss::distance_compute_blas_query_bs = 256;
  });
}

}  // namespace fp
