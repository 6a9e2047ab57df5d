// A selector that asks ahead for the memory its is_member reads, for the addon's
// HNSW and IVF searches (kernels/hnsw_search.cc, kernels/ivf_scan.cc). A
// collection's selector reads from anywhere per question: a payload column's
// value of the id (value_column.h, 8 bytes a label: 1.6 MB at 200,000 points),
// and through an IDMap first the id of the position (8 bytes a vector), each a
// miss of the caches. Asked for ahead (an HNSW step's neighbours while their
// distances are computed; an IVF list's ids 16 rows ahead), those reads overlap
// instead of following each question: a cold 10% filter's search through a
// column, HNSW32 efSearch 102 at 200,000 points, 339 -> 290 us, IVF1024 nprobe
// 29 209 -> 179 us (bench/RESULTS.md, twelfth session, the A/B of each search on
// queries of its own).
#pragma once

#include <faiss/impl/IDSelector.h>

namespace fp {

struct PrefetchingSelector : faiss::IDSelector {
  // Asks for the memory is_member(id) reads first.
  virtual void prefetch(idx_t id) const = 0;
  // Once that memory has arrived: asks for what is_member(id) reads next, found from it (nothing by default).
  virtual void prefetchNext(idx_t) const {}
};

// `sel` where it asks ahead, else null.
inline const PrefetchingSelector* prefetchingOf(const faiss::IDSelector* sel) {
  return dynamic_cast<const PrefetchingSelector*>(sel);
}

}  // namespace fp
