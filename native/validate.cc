#include "validate.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexLSH.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPQFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/VectorTransform.h>
#include <faiss/invlists/BlockInvertedLists.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <cmath>
#include <string>
#include <typeinfo>

#include "coded_error.h"
#include "index_type.h"
#include "metrics.h"
#include "validate_parts.h"

namespace fp {

void requireConsistent(bool ok, const std::string& what) {
  if (!ok) throw ArgumentError(code::kCorruptIndex, "The index is inconsistent: " + what);
}

void refuseUnchecked(const std::string& what) {
  throw ArgumentError(code::kUnsupported, what + " cannot be checked before loading, so it is not accepted from outside");
}

namespace {

void require(bool ok, const std::string& what) { requireConsistent(ok, what); }

[[noreturn]] void unsupported(const std::string& what) { refuseUnchecked(what); }

template <typename T>
bool is(const faiss::Index& index) {
  return typeid(index) == typeid(T);
}

constexpr int64_t kMaxDimension = 1 << 20;
// Search-time sizes a file may set; searches allocate in proportion to them.
constexpr int kMaxEf = 1 << 16;
constexpr float kMaxRefineFactor = 1024;

void validateCommon(const faiss::Index& index) {
  require(index.d > 0 && index.d <= kMaxDimension, "dimension out of range");
  require(index.ntotal >= 0, "negative ntotal");
  // Nothing can be added before training; codes held by an untrained index would
  // be decoded (reconstruct) with empty tables.
  require(index.is_trained || index.ntotal == 0, "an untrained index that holds vectors");
  require(isFaissMetric(index.metric_type), "unknown metric");
  // The other metrics only where FAISS computes them without throwing inside a
  // parallel region (metrics.h): a genuine file of another type with one is
  // refused as such, not as damaged.
  if (isExtraMetric(index.metric_type)) {
    require(std::isfinite(index.metric_arg), "metric argument not finite");
    if (!extraMetricSafe(index))
      throw ArgumentError(code::kUnsupported, indexTypeName(index) + " with " + metricName(index.metric_type) +
                                                  " is not accepted: FAISS 1.7.3 aborts the process when it searches it "
                                                  "(flat and HNSW-flat indexes take that metric)");
  }
}

// Untrained, the centroid table may still be empty.
void validateProductQuantizer(const faiss::ProductQuantizer& pq, int64_t d, size_t codeSize, bool trained,
                              const char* owner) {
  const std::string what = std::string(owner) + " product quantizer ";
  require(pq.d == static_cast<size_t>(d), what + "dimension does not match the index");
  require(pq.M > 0 && pq.d % pq.M == 0 && pq.dsub == pq.d / pq.M, what + "sub-quantizer count does not divide d");
  require(pq.nbits > 0 && pq.nbits <= 16 && pq.ksub == (size_t{1} << pq.nbits), what + "bits per code out of range");
  require(pq.code_size == (pq.M * pq.nbits + 7) / 8 && pq.code_size == codeSize, what + "code size does not match");
  require(pq.centroids.size() == pq.d * pq.ksub || (!trained && pq.centroids.empty()),
          what + "centroid table does not match its sizes");
  require(pq.sdc_table.empty() || pq.sdc_table.size() == pq.M * pq.ksub * pq.ksub, what + "SDC table size");
}

// The trained table of each kind: a (min, range) pair per dimension for the
// non-uniform kinds, one pair for the uniform ones, none for fp16 and direct.
void validateScalarQuantizer(const faiss::ScalarQuantizer& sq, int64_t d, size_t codeSize, bool trained) {
  using SQ = faiss::ScalarQuantizer;
  require(sq.qtype >= SQ::QT_8bit && sq.qtype <= SQ::QT_6bit, "scalar quantizer of an unknown kind");
  require(sq.d == static_cast<size_t>(d), "scalar quantizer dimension does not match the index");
  SQ expected(sq.d, sq.qtype);
  require(sq.code_size == expected.code_size && sq.bits == expected.bits && sq.code_size == codeSize,
          "scalar quantizer code size does not match its kind");
  size_t table = 0;
  if (sq.qtype == SQ::QT_8bit || sq.qtype == SQ::QT_4bit || sq.qtype == SQ::QT_6bit) table = 2 * sq.d;
  if (sq.qtype == SQ::QT_8bit_uniform || sq.qtype == SQ::QT_4bit_uniform) table = 2;
  require(trained ? sq.trained.size() == table : sq.trained.empty() || sq.trained.size() == table,
          "scalar quantizer trained table does not match its kind");
}

void validateLinearTransform(const faiss::LinearTransform& t) {
  if (!t.is_trained) return;
  require(t.A.size() == static_cast<size_t>(t.d_in) * t.d_out, "transform matrix size");
  require(!t.have_bias || t.b.size() == static_cast<size_t>(t.d_out), "transform bias size");
}

void validateTransform(const faiss::VectorTransform& t) {
  require(t.d_in > 0 && t.d_in <= kMaxDimension && t.d_out > 0 && t.d_out <= kMaxDimension,
          "transform dimensions out of range");
  if (auto* lt = dynamic_cast<const faiss::LinearTransform*>(&t)) {
    const auto& type = typeid(t);
    if (type != typeid(faiss::PCAMatrix) && type != typeid(faiss::OPQMatrix) &&
        type != typeid(faiss::RandomRotationMatrix) && type != typeid(faiss::LinearTransform))
      unsupported("This vector transform");
    return validateLinearTransform(*lt);
  }
  if (auto* n = dynamic_cast<const faiss::NormalizationTransform*>(&t)) {
    require(n->d_in == n->d_out, "normalization changes the dimension");
    return;
  }
  if (auto* c = dynamic_cast<const faiss::CenteringTransform*>(&t)) {
    require(c->d_in == c->d_out && (!c->is_trained || c->mean.size() == static_cast<size_t>(c->d_in)),
            "centering transform size");
    return;
  }
  if (auto* r = dynamic_cast<const faiss::RemapDimensionsTransform*>(&t)) {
    require(r->map.size() == static_cast<size_t>(r->d_out), "dimension remapping size");
    for (int m : r->map) require(m >= -1 && m < r->d_in, "dimension remapping out of range");
    return;
  }
  unsupported("This vector transform");
}

void validateFlatCodes(const faiss::IndexFlatCodes& index) {
  require(index.code_size > 0, "zero code size");
  require(index.codes.size() == static_cast<size_t>(index.ntotal) * index.code_size, "codes do not match ntotal");
  if (is<faiss::IndexFlat>(index) || is<faiss::IndexFlatL2>(index) || is<faiss::IndexFlatIP>(index)) {
    require(index.code_size == sizeof(float) * index.d, "flat code size does not match the dimension");
    return;
  }
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(&index); pq && is<faiss::IndexPQ>(index)) {
    validateProductQuantizer(pq->pq, index.d, index.code_size, index.is_trained, "PQ");
    using P = faiss::IndexPQ;
    const bool byteCodes = pq->pq.nbits == 8;
    require(pq->search_type == P::ST_PQ || (pq->search_type == P::ST_SDC && pq->pq.sdc_table.size() > 0) ||
                (byteCodes && (pq->search_type == P::ST_HE || pq->search_type == P::ST_generalized_HE ||
                               pq->search_type == P::ST_polysemous || pq->search_type == P::ST_polysemous_generalize)),
            "PQ search type out of range for its codes");
    require(pq->polysemous_ht >= 0 && pq->polysemous_ht <= static_cast<int>(8 * index.code_size) + 1,
            "PQ polysemous threshold out of range");
    return;
  }
  if (auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(&index); sq && is<faiss::IndexScalarQuantizer>(index)) {
    validateScalarQuantizer(sq->sq, index.d, index.code_size, index.is_trained);
    return;
  }
  if (auto* lsh = dynamic_cast<const faiss::IndexLSH*>(&index); lsh && is<faiss::IndexLSH>(index)) {
    require(lsh->nbits > 0 && index.code_size == static_cast<size_t>((lsh->nbits + 7) / 8), "LSH code size");
    if (lsh->rotate_data) {
      require(lsh->rrot.d_in == index.d && lsh->rrot.d_out == lsh->nbits, "LSH rotation does not match d and nbits");
      validateLinearTransform(lsh->rrot);
      require(!index.is_trained || lsh->rrot.is_trained, "LSH marked trained with an untrained rotation");
    } else {
      require(lsh->nbits <= index.d, "LSH without rotation keeps more bits than dimensions");
    }
    require(!lsh->train_thresholds || !index.is_trained || lsh->thresholds.size() == static_cast<size_t>(lsh->nbits),
            "LSH thresholds do not match nbits");
    return;
  }
  unsupported(indexTypeName(index) + " files");
}

// Fast-scan PQ: 4-bit codes of M sub-quantizers, packed for M2 (M rounded up to
// even) in blocks of bbs vectors. The block size and the search-implementation
// fields (implem, qbs) select kernels and query-batch shapes that FAISS 1.7.3
// compiled only for some sizes, and it throws inside an OpenMP region (ending
// the process) on the others: only FAISS's defaults (bbs 32, implem and qbs 0,
// what Python writes) are accepted (factory_check.cc).

void validateFastScanShape(size_t M, size_t nbits, size_t ksub, size_t M2, int bbs, int implem, size_t qbs,
                           const faiss::ProductQuantizer& pq) {
  require(nbits == 4 && ksub == 16 && pq.nbits == 4 && M == pq.M && M2 == (M + 1) / 2 * 2,
          "fast-scan PQ shape does not match its quantizer");
  require(bbs > 0 && bbs % 32 == 0, "fast-scan block size out of range");
  if (bbs != 32 || implem != 0 || qbs != 0) unsupported("A fast-scan PQ with a non-default bbs, implem or qbs");
}

void validatePqFastScan(const faiss::IndexPQFastScan& index) {
  validateProductQuantizer(index.pq, index.d, index.code_size, index.is_trained, "fast-scan");
  validateFastScanShape(index.M, index.nbits, index.ksub, index.M2, index.bbs, index.implem,
                        static_cast<size_t>(index.qbs), index.pq);
  require(index.orig_codes == nullptr, "fast-scan PQ with original codes");
  const size_t blocks = (static_cast<size_t>(index.ntotal) + index.bbs - 1) / index.bbs;
  require(index.ntotal2 == blocks * index.bbs && index.codes.size() == index.ntotal2 * index.M2 / 2,
          "fast-scan codes do not match ntotal");
}

void validateHnsw(const faiss::IndexHNSW& index) {
  if (!is<faiss::IndexHNSWFlat>(index) && !is<faiss::IndexHNSWPQ>(index) && !is<faiss::IndexHNSWSQ>(index))
    unsupported(indexTypeName(index) + " files");
  require(index.reconstruct_from_neighbors == nullptr, "HNSW with a neighbour codec");
  require(index.storage != nullptr && dynamic_cast<const faiss::IndexFlatCodes*>(index.storage) != nullptr,
          "HNSW without a flat storage");
  require(index.storage->ntotal == index.ntotal && index.storage->d == index.d, "HNSW storage does not match");
  validateHnswGraph(index.hnsw, index.ntotal);
  validateIndex(*index.storage);
}

}  // namespace

void validateHnswGraph(const faiss::HNSW& h, int64_t ntotal) {
  const size_t n = static_cast<size_t>(ntotal);
  require(h.efSearch >= 1 && h.efSearch <= kMaxEf && h.efConstruction >= 1 && h.efConstruction <= kMaxEf,
          "HNSW efSearch or efConstruction out of range");
  require(h.upper_beam >= 1 && h.upper_beam <= kMaxEf, "HNSW upper beam out of range");
  // cum_nneighbor_per_level[l] is where level l's neighbours start in a node's slice.
  const auto& cum = h.cum_nneighbor_per_level;
  require(cum.size() >= 2 && cum[0] == 0, "HNSW without neighbour counts");
  for (size_t l = 1; l < cum.size(); l++) require(cum[l] >= cum[l - 1] && cum[l] <= (1 << 16), "HNSW neighbour counts");
  const int levels = static_cast<int>(cum.size()) - 1;
  // A new node's level is drawn from assign_probas; level + 1 indexes cum.
  require(!h.assign_probas.empty() && h.assign_probas.size() <= static_cast<size_t>(levels),
          "HNSW level probabilities run past its neighbour table");
  for (double p : h.assign_probas) require(std::isfinite(p) && p >= 0 && p <= 1, "HNSW level probability");
  require(h.levels.size() == n && h.offsets.size() == n + 1, "HNSW level tables do not match ntotal");
  require(h.offsets[0] == 0, "HNSW offsets do not start at 0");
  require(n == 0 ? h.max_level == -1 || h.max_level == 0 : h.max_level >= 0 && h.max_level < levels,
          "HNSW max level out of range");
  require(n == 0 || (h.entry_point >= 0 && static_cast<size_t>(h.entry_point) < n), "HNSW entry point out of range");
  require(n == 0 || h.levels[h.entry_point] - 1 == h.max_level, "HNSW entry point is not on the top level");
  for (size_t i = 0; i < n; i++) {
    const int li = h.levels[i];
    require(li >= 1 && li - 1 <= h.max_level, "HNSW node level out of range");
    require(h.offsets[i + 1] >= h.offsets[i] &&
                h.offsets[i + 1] - h.offsets[i] == static_cast<size_t>(cum[li]),
            "HNSW offsets inconsistent with levels");
  }
  require(h.offsets[n] == h.neighbors.size(), "HNSW neighbour table size");
  // A search walking level l reads each neighbour's level-l slice, which exists
  // only if that neighbour is on level l too.
  for (size_t i = 0; i < n; i++) {
    for (int l = 0; l < h.levels[i]; l++) {
      for (size_t j = h.offsets[i] + cum[l]; j < h.offsets[i] + cum[l + 1]; j++) {
        const auto v = h.neighbors[j];
        require(v >= -1 && static_cast<int64_t>(v) < ntotal, "HNSW neighbour id out of range");
        require(v < 0 || h.levels[v] > l, "HNSW neighbour missing from the level it is linked on");
      }
    }
  }
}

void validateInvertedLists(const faiss::InvertedLists* invlists, size_t nlist, size_t codeSize, int64_t ntotal,
                           BlockShape blocks) {
  size_t total = 0;
  if (auto* lists = dynamic_cast<const faiss::ArrayInvertedLists*>(invlists)) {
    require(lists->codes.size() == nlist && lists->ids.size() == nlist, "IVF list tables do not match nlist");
    for (size_t l = 0; l < nlist; l++) {
      require(lists->codes[l].size() == lists->ids[l].size() * codeSize, "IVF list codes do not match ids");
      total += lists->ids[l].size();
    }
  } else if (auto* blockLists = dynamic_cast<const faiss::BlockInvertedLists*>(invlists)) {
    // A fast-scan IVF's lists: codes in whole blocks of n_per_block vectors.
    require(blocks.nPerBlock > 0 && blockLists->n_per_block == blocks.nPerBlock && blockLists->block_size == blocks.blockSize,
            "IVF block lists do not match the index's blocks");
    require(blockLists->codes.size() == nlist && blockLists->ids.size() == nlist, "IVF list tables do not match nlist");
    for (size_t l = 0; l < nlist; l++) {
      const size_t n = blockLists->ids[l].size();
      require(blockLists->codes[l].size() == (n + blockLists->n_per_block - 1) / blockLists->n_per_block * blockLists->block_size,
              "IVF list codes do not match ids");
      total += n;
    }
  } else if (auto* mapped = dynamic_cast<const faiss::OnDiskInvertedLists*>(invlists)) {
    // Lists mapped from the file (readIndex with mmap): each must lie inside it.
    require(mapped->lists.size() == nlist, "IVF list tables do not match nlist");
    for (const auto& l : mapped->lists) {
      require(l.size <= l.capacity && l.capacity <= mapped->totsize / (codeSize + sizeof(faiss::Index::idx_t)) &&
                  l.offset <= mapped->totsize &&
                  l.capacity * (codeSize + sizeof(faiss::Index::idx_t)) <= mapped->totsize - l.offset,
              "IVF list lies outside the mapped file");
      total += l.size;
    }
  } else {
    unsupported("IVF inverted lists of this kind");
  }
  require(total == static_cast<size_t>(ntotal), "IVF lists do not add up to ntotal");
}

void validateDirectMap(const faiss::DirectMap& dm, const faiss::InvertedLists& invlists, size_t nlist, int64_t ntotal) {
  require(dm.type == faiss::DirectMap::NoMap || dm.type == faiss::DirectMap::Array ||
              dm.type == faiss::DirectMap::Hashtable,
          "IVF direct map of an unknown kind");
  if (dm.type == faiss::DirectMap::Array) require(dm.array.size() == static_cast<size_t>(ntotal), "IVF direct map size");
  auto inRange = [&](int64_t entry) {
    const int64_t list = faiss::lo_listno(entry), offset = faiss::lo_offset(entry);
    return list >= 0 && static_cast<size_t>(list) < nlist && offset >= 0 &&
           static_cast<size_t>(offset) < invlists.list_size(list);
  };
  for (auto entry : dm.array) require(entry == -1 || inRange(entry), "IVF direct map entry out of range");
  for (const auto& kv : dm.hashtable) require(inRange(kv.second), "IVF direct map entry out of range");
}

namespace {

// The coarse quantizer's labels are list numbers: any accepted flat, HNSW or PQ
// index labels by position (< ntotal == nlist); an IDMap by its id table. Before
// training it may be empty, and then so is the IVF.
void validateQuantizer(const faiss::IndexIVF& index) {
  const faiss::Index& q = *index.quantizer;
  const bool emptyUntrained = !index.is_trained && q.ntotal == 0 && index.ntotal == 0;
  require((q.ntotal == static_cast<int64_t>(index.nlist) || emptyUntrained) && q.d == index.d,
          "IVF quantizer does not match nlist and d");
  require(dynamic_cast<const faiss::IndexIVF*>(&q) == nullptr, "IVF quantizer that is itself an IVF");
  validateIndex(q);
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&q)) {
    for (auto id : m->id_map)
      require(id >= 0 && static_cast<size_t>(id) < index.nlist, "IVF quantizer id beyond nlist");
  }
}

void validateIvf(const faiss::IndexIVF& index) {
  require(index.nlist > 0 && index.quantizer != nullptr, "IVF without quantizer");
  require(index.nprobe >= 1 && index.code_size > 0, "IVF nprobe or code size out of range");
  require(index.parallel_mode >= 0 && index.parallel_mode <= 3, "IVF parallel mode out of range");
  validateQuantizer(index);
  require(index.invlists != nullptr && index.invlists->nlist == index.nlist, "IVF inverted lists do not match nlist");
  // A fast-scan IVF's block lists have no per-vector code size.
  auto* fastScan = dynamic_cast<const faiss::IndexIVFFastScan*>(&index);
  require(index.invlists->code_size == (fastScan ? faiss::InvertedLists::INVALID_CODE_SIZE : index.code_size),
          "IVF code size does not match its lists");
  const BlockShape blocks = fastScan ? BlockShape{static_cast<size_t>(fastScan->bbs), fastScan->bbs * fastScan->M2 / 2}
                                     : BlockShape{};
  validateInvertedLists(index.invlists, index.nlist, index.code_size, index.ntotal, blocks);
  validateDirectMap(index.direct_map, *index.invlists, index.nlist, index.ntotal);
  if (is<faiss::IndexIVFPQ>(index)) {
    auto& pq = static_cast<const faiss::IndexIVFPQ&>(index);
    validateProductQuantizer(pq.pq, index.d, index.code_size, index.is_trained, "IVFPQ");
    require(pq.use_precomputed_table >= -1 && pq.use_precomputed_table <= 1, "IVFPQ precomputed table kind");
    require(pq.use_precomputed_table != 1 || pq.precomputed_table.size() == index.nlist * pq.pq.M * pq.pq.ksub,
            "IVFPQ precomputed table size");
    require(pq.polysemous_ht >= 0 && pq.polysemous_ht <= static_cast<int>(8 * index.code_size) + 1,
            "IVFPQ polysemous threshold out of range");
  } else if (is<faiss::IndexIVFPQFastScan>(index)) {
    auto& fs = static_cast<const faiss::IndexIVFPQFastScan&>(index);
    validateProductQuantizer(fs.pq, index.d, index.code_size, index.is_trained, "IVF fast-scan");
    validateFastScanShape(fs.M, fs.nbits, fs.ksub, fs.M2, fs.bbs, fs.implem, fs.qbs2 | static_cast<size_t>(fs.qbs), fs.pq);
    require(fs.orig_invlists == nullptr, "IVF fast-scan with original lists");
  } else if (is<faiss::IndexIVFScalarQuantizer>(index)) {
    auto& sq = static_cast<const faiss::IndexIVFScalarQuantizer&>(index);
    validateScalarQuantizer(sq.sq, index.d, index.code_size, index.is_trained);
  } else if (is<faiss::IndexIVFFlat>(index)) {
    require(index.code_size == sizeof(float) * index.d, "IVFFlat code size does not match the dimension");
  } else {
    unsupported(indexTypeName(index) + " files");
  }
}

// Wrappers that look their inner index's labels up by position (an IDMap in its
// id table, a refine index in its refine_index) need labels in [0, ntotal): true
// by construction of flat, PQ, SQ, LSH and HNSW indexes, not of an IVF's lists,
// whose ids come from the file.
void requirePositionalLabels(const faiss::Index& inner) {
  if (auto* p = dynamic_cast<const faiss::IndexPreTransform*>(&inner)) return requirePositionalLabels(*p->index);
  if (auto* r = dynamic_cast<const faiss::IndexRefine*>(&inner)) return requirePositionalLabels(*r->base_index);
  auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner);
  if (!ivf) return;
  for (size_t l = 0; l < ivf->nlist; l++) {
    faiss::InvertedLists::ScopedIds ids(ivf->invlists, l);
    const size_t n = ivf->invlists->list_size(l);
    for (size_t i = 0; i < n; i++)
      require(ids[i] >= 0 && ids[i] < inner.ntotal, "an IVF inside a wrapper holds an id beyond its ntotal");
  }
}

void validateIdMap(const faiss::IndexIDMap& m) {
  require(m.index != nullptr && m.index->d == m.d, "IDMap without a matching inner index");
  require(m.id_map.size() == static_cast<size_t>(m.ntotal) && m.index->ntotal == m.ntotal,
          "IDMap id table does not match ntotal");
  if (auto* m2 = dynamic_cast<const faiss::IndexIDMap2*>(&m)) {
    require(m2->rev_map.size() <= m2->id_map.size(), "IDMap2 reverse table larger than the id table");
    for (const auto& kv : m2->rev_map) require(kv.second >= 0 && kv.second < m.ntotal, "IDMap2 reverse entry out of range");
  }
  require(dynamic_cast<const faiss::IndexIDMap*>(m.index) == nullptr, "IDMap inside an IDMap");
  validateIndex(*m.index);
  requirePositionalLabels(*m.index);
}

void validatePreTransform(const faiss::IndexPreTransform& p) {
  require(p.index != nullptr && !p.chain.empty(), "pre-transform without an index or transforms");
  int d = p.d;
  for (const auto* t : p.chain) {
    require(t != nullptr && t->d_in == d, "transform chain dimensions do not follow on");
    validateTransform(*t);
    require(!p.is_trained || t->is_trained, "pre-transform marked trained with an untrained transform");
    d = t->d_out;
  }
  require(p.index->d == d && p.index->ntotal == p.ntotal, "pre-transform's index does not match its chain");
  validateIndex(*p.index);
}

void validateRefine(const faiss::IndexRefine& r) {
  require(r.base_index != nullptr && r.refine_index != nullptr, "refine index without its parts");
  require(r.base_index->d == r.d && r.refine_index->d == r.d && r.base_index->ntotal == r.ntotal &&
              r.refine_index->ntotal == r.ntotal,
          "refine index parts do not match");
  require(std::isfinite(r.k_factor) && r.k_factor >= 1 && r.k_factor <= kMaxRefineFactor, "refine k_factor out of range");
  require(dynamic_cast<const faiss::IndexFlatCodes*>(r.refine_index) != nullptr, "refine index that is not flat");
  validateIndex(*r.base_index);
  validateIndex(*r.refine_index);
  requirePositionalLabels(*r.base_index);
}

}  // namespace

void validateIndex(const faiss::Index& index) {
  validateCommon(index);
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) return validateIdMap(*m);
  if (auto* f = dynamic_cast<const faiss::IndexFlatCodes*>(&index)) return validateFlatCodes(*f);
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(&index)) return validateHnsw(*h);
  if (auto* fs = dynamic_cast<const faiss::IndexPQFastScan*>(&index); fs && is<faiss::IndexPQFastScan>(index))
    return validatePqFastScan(*fs);
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) return validateIvf(*ivf);
  if (auto* p = dynamic_cast<const faiss::IndexPreTransform*>(&index); p && is<faiss::IndexPreTransform>(index))
    return validatePreTransform(*p);
  if (auto* r = dynamic_cast<const faiss::IndexRefine*>(&index);
      r && (is<faiss::IndexRefine>(index) || is<faiss::IndexRefineFlat>(index)))
    return validateRefine(*r);
  unsupported(indexTypeName(index) + " files");
}

}  // namespace fp
