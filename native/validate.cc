#include "validate.h"

#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/invlists/InvertedLists.h>

#include <string>

#include "errors.h"
#include "index_type.h"

namespace fp {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw ArgumentError(code::kCorruptIndex, "The index is inconsistent: " + what);
}

constexpr int64_t kMaxDimension = 1 << 20;

void validateCommon(const faiss::Index& index) {
  require(index.d > 0 && index.d <= kMaxDimension, "dimension out of range");
  require(index.ntotal >= 0, "negative ntotal");
  require(index.metric_type == faiss::METRIC_L2 || index.metric_type == faiss::METRIC_INNER_PRODUCT,
          "unsupported metric");
}

void validateFlatCodes(const faiss::IndexFlatCodes& index) {
  require(index.code_size > 0, "zero code size");
  require(index.codes.size() == static_cast<size_t>(index.ntotal) * index.code_size, "codes do not match ntotal");
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(&index)) {
    require(pq->pq.d == static_cast<size_t>(index.d) && pq->pq.M > 0 && pq->pq.nbits > 0 && pq->pq.nbits <= 16 &&
                pq->pq.code_size == index.code_size && pq->pq.centroids.size() == pq->pq.d * pq->pq.ksub,
            "product quantizer does not match the index");
  } else if (auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(&index)) {
    require(sq->sq.d == static_cast<size_t>(index.d) && sq->sq.code_size == index.code_size,
            "scalar quantizer does not match the index");
  } else {
    require(dynamic_cast<const faiss::IndexFlat*>(&index) != nullptr, "unknown flat-codes index");
    require(index.code_size == sizeof(float) * index.d, "flat code size does not match the dimension");
  }
}

void validateHnsw(const faiss::IndexHNSW& index) {
  require(index.storage != nullptr, "HNSW without storage");
  require(index.storage->ntotal == index.ntotal && index.storage->d == index.d, "HNSW storage does not match");
  const auto& h = index.hnsw;
  const size_t n = static_cast<size_t>(index.ntotal);
  require(h.levels.size() == n && h.offsets.size() == n + 1, "HNSW level tables do not match ntotal");
  require(h.offsets.empty() || h.offsets[0] == 0, "HNSW offsets do not start at 0");
  require(!h.cum_nneighbor_per_level.empty(), "HNSW without neighbour counts");
  const int levels = static_cast<int>(h.cum_nneighbor_per_level.size()) - 1;
  require(n == 0 || (h.entry_point >= 0 && static_cast<size_t>(h.entry_point) < n), "HNSW entry point out of range");
  require(h.max_level >= (n == 0 ? -1 : 0) && h.max_level < levels, "HNSW max level out of range");
  for (size_t i = 0; i < n; i++) {
    const int li = h.levels[i];
    require(li >= 1 && li - 1 <= h.max_level, "HNSW node level out of range");
    require(h.offsets[i + 1] >= h.offsets[i] &&
                h.offsets[i + 1] - h.offsets[i] == static_cast<size_t>(h.cum_nneighbor_per_level[li]),
            "HNSW offsets inconsistent with levels");
  }
  require(h.offsets.empty() || h.offsets[n] == h.neighbors.size(), "HNSW neighbour table size");
  for (auto v : h.neighbors) require(v >= -1 && static_cast<int64_t>(v) < index.ntotal, "HNSW neighbour id out of range");
  validateIndex(*index.storage);
}

void validateIvf(const faiss::IndexIVF& index) {
  require(index.nlist > 0 && index.quantizer != nullptr, "IVF without quantizer");
  require(index.quantizer->ntotal == static_cast<int64_t>(index.nlist) && index.quantizer->d == index.d,
          "IVF quantizer does not match nlist and d");
  validateIndex(*index.quantizer);
  require(index.invlists != nullptr && index.invlists->nlist == index.nlist, "IVF inverted lists do not match nlist");
  require(index.invlists->code_size == index.code_size, "IVF code size does not match its lists");
  auto* lists = dynamic_cast<const faiss::ArrayInvertedLists*>(index.invlists);
  require(lists != nullptr, "IVF inverted lists of an unsupported kind");
  size_t total = 0;
  for (size_t l = 0; l < index.nlist; l++) {
    require(lists->codes[l].size() == lists->ids[l].size() * index.code_size, "IVF list codes do not match ids");
    total += lists->ids[l].size();
  }
  require(total == static_cast<size_t>(index.ntotal), "IVF lists do not add up to ntotal");
  const auto& dm = index.direct_map;
  if (dm.type == faiss::DirectMap::Array) require(dm.array.size() == total, "IVF direct map size");
  for (auto entry : dm.array) {
    const int64_t list = faiss::lo_listno(entry), offset = faiss::lo_offset(entry);
    require(entry == -1 || (list >= 0 && static_cast<size_t>(list) < index.nlist && offset >= 0 &&
                            static_cast<size_t>(offset) < lists->ids[list].size()),
            "IVF direct map entry out of range");
  }
  for (const auto& kv : dm.hashtable) {
    const int64_t list = faiss::lo_listno(kv.second), offset = faiss::lo_offset(kv.second);
    require(list >= 0 && static_cast<size_t>(list) < index.nlist && offset >= 0 &&
                static_cast<size_t>(offset) < lists->ids[list].size(),
            "IVF direct map entry out of range");
  }
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(&index)) {
    require(pq->pq.d == static_cast<size_t>(index.d) && pq->pq.M > 0 && pq->pq.nbits > 0 && pq->pq.nbits <= 16 &&
                pq->pq.code_size == index.code_size && pq->pq.centroids.size() == pq->pq.d * pq->pq.ksub,
            "IVFPQ product quantizer does not match the index");
  } else if (auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(&index)) {
    require(sq->sq.d == static_cast<size_t>(index.d) && sq->sq.code_size == index.code_size,
            "IVF scalar quantizer does not match the index");
  } else {
    require(indexTypeName(index) == "IndexIVFFlat", "unsupported IVF variant");
    require(index.code_size == sizeof(float) * index.d, "IVFFlat code size does not match the dimension");
  }
}

}  // namespace

void validateIndex(const faiss::Index& index) {
  validateCommon(index);
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
    require(m->index != nullptr && m->index->d == index.d, "IDMap without a matching inner index");
    require(m->id_map.size() == static_cast<size_t>(index.ntotal) && m->index->ntotal == index.ntotal,
            "IDMap id table does not match ntotal");
    if (auto* m2 = dynamic_cast<const faiss::IndexIDMap2*>(&index)) {
      require(m2->rev_map.size() <= m2->id_map.size(), "IDMap2 reverse table larger than the id table");
      for (const auto& kv : m2->rev_map)
        require(kv.second >= 0 && kv.second < index.ntotal, "IDMap2 reverse entry out of range");
    }
    validateIndex(*m->index);
    return;
  }
  if (auto* f = dynamic_cast<const faiss::IndexFlatCodes*>(&index)) return validateFlatCodes(*f);
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(&index)) return validateHnsw(*h);
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) return validateIvf(*ivf);
  throw ArgumentError(code::kUnsupported,
                      indexTypeName(index) + " files cannot be checked before loading, so they are not accepted from outside");
}

}  // namespace fp
