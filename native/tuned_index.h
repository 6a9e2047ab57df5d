// The index a setting of `index` acts on (its nprobe, efSearch, k-means, coarse
// quantizer), looked for through the wrappers Python's ParameterSpace looks
// through: IDMap, PreTransform, and a refine index's base.
#pragma once

#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>

namespace fp {

// The first index of type T at the top of `index` or under those wrappers.
template <typename T>
T* findTuned(faiss::Index* index) {
  while (index) {
    if (auto* t = dynamic_cast<T*>(index)) return t;
    if (auto* m = dynamic_cast<faiss::IndexIDMap*>(index)) {
      index = m->index;
    } else if (auto* p = dynamic_cast<faiss::IndexPreTransform*>(index)) {
      index = p->index;
    } else if (auto* r = dynamic_cast<faiss::IndexRefine*>(index)) {
      index = r->base_index;
    } else {
      return nullptr;
    }
  }
  return nullptr;
}

}  // namespace fp
