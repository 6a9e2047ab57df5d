// The state shared between a JS IndexBinary object and the workers operating on
// it: a faiss::IndexBinary, with the lock, counters and tunables every handle has
// (handle_core.h). FAISS 1.7.3's binary indexes take no search parameters, so
// their nprobe, like HNSW's efSearch, is set in the FAISS object for each search
// (HandleCore::searchShared).
#pragma once

#include <faiss/IndexBinary.h>

#include <memory>

#include "handle_core.h"

namespace fp {

class BinaryIndexHandle : public HandleCore {
 public:
  explicit BinaryIndexHandle(std::unique_ptr<faiss::IndexBinary> index);

  faiss::IndexBinary* index() const { return index_.get(); }

  // Call with the lock held (shared or exclusive); `mutated` bumps the version.
  void refresh(bool mutated);

 private:
  std::unique_ptr<faiss::IndexBinary> index_;
};

}  // namespace fp
