#include "idmap2_guard.h"

#include <faiss/IndexIDMap.h>
#include <faiss/impl/io.h>

#include <cstring>
#include <typeinfo>

#include "coded_error.h"

namespace fp {

void IdMap2Guard::onRead(void* ptr, size_t itemSize, size_t itemsRead) {
  const bool first = firstRead_;
  firstRead_ = false;
  // Fourccs are read one uint32 at a time; no valid scalar field of a FAISS file
  // holds this value (as an int it is 843,937,865).
  if (itemSize != 4 || itemsRead != 1) return;
  static const uint32_t idMap2 = faiss::fourcc("IxM2");
  static const uint32_t replacement = faiss::fourcc("IxMp");
  uint32_t value;
  std::memcpy(&value, ptr, 4);
  if (value != idMap2) return;
  std::memcpy(ptr, &replacement, 4);
  swapped_++;
  if (first) topLevel_ = true;
}

std::unique_ptr<faiss::Index> IdMap2Guard::finish(std::unique_ptr<faiss::Index> index) const {
  if (swapped_ == 0) return index;
  if (swapped_ > 1 || !topLevel_ || typeid(*index) != typeid(faiss::IndexIDMap))
    throw ArgumentError(code::kUnsupported, "read_index: an IndexIDMap2 inside another index is not supported");
  auto* map = static_cast<faiss::IndexIDMap*>(index.get());
  if (map->index == nullptr || map->id_map.size() != static_cast<size_t>(map->ntotal) ||
      map->index->ntotal != map->ntotal)
    throw ArgumentError(code::kCorruptIndex, "read_index: IndexIDMap2 id table does not match ntotal");
  auto map2 = std::make_unique<faiss::IndexIDMap2>();
  map2->d = map->d;
  map2->ntotal = map->ntotal;
  map2->verbose = map->verbose;
  map2->is_trained = map->is_trained;
  map2->metric_type = map->metric_type;
  map2->metric_arg = map->metric_arg;
  map2->index = map->index;
  map2->own_fields = map->own_fields;
  map->own_fields = false;
  map2->id_map = std::move(map->id_map);
  map2->construct_rev_map();
  return map2;
}

}  // namespace fp
