// FAISS 1.7.3's reader rebuilds an IndexIDMap2's reverse table while it reads the
// file (construct_rev_map), walking `ntotal` entries of the id table before anyone
// can check that the file's ntotal matches the table: a damaged or crafted file
// reads past the table's end and can take the process down (seen in the import
// fuzz test: SIGSEGV inside read_index, about one run in ten).
//
// So the readers here hand FAISS "IxMp" (IndexIDMap, same layout, no reverse
// table) wherever the file says "IxM2", and the index is turned back into an
// IndexIDMap2 afterwards, once its id table is known to match ntotal.
#pragma once

#include <faiss/Index.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fp {

class IdMap2Guard {
 public:
  // Call on every read FAISS makes; rewrites the "IxM2" fourcc in place.
  void onRead(void* ptr, size_t itemSize, size_t itemsRead);

  // Turns the top-level IndexIDMap back into an IndexIDMap2 when the file held
  // one; throws a corrupt-index error when its id table does not match ntotal,
  // and an unsupported one for an IndexIDMap2 nested inside another index.
  std::unique_ptr<faiss::Index> finish(std::unique_ptr<faiss::Index> index) const;

 private:
  bool firstRead_ = true;
  bool topLevel_ = false;
  int swapped_ = 0;
};

}  // namespace fp
