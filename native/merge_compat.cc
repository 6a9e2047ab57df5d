#include "merge_compat.h"

#include <faiss/IndexFastScan.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPQFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/BlockInvertedLists.h>

#include <string>
#include <typeinfo>

#include "errors.h"
#include "index_type.h"

namespace fp {
namespace {

[[noreturn]] void incompatible(const std::string& what) {
  throw ArgumentError(code::kInvalidArgument, "Cannot merge: the two indexes differ in " + what);
}

bool samePq(const faiss::ProductQuantizer& a, const faiss::ProductQuantizer& b) {
  return a.M == b.M && a.nbits == b.nbits && a.centroids == b.centroids;
}

bool sameSq(const faiss::ScalarQuantizer& a, const faiss::ScalarQuantizer& b) {
  return a.qtype == b.qtype && a.rangestat == b.rangestat && a.trained == b.trained;
}

std::vector<uint8_t> bytesOf(const faiss::VectorTransform* t) {
  faiss::VectorIOWriter w;
  faiss::write_VectorTransform(t, &w);
  return std::move(w.data);
}

// Types whose merge_from FAISS implements (Index::merge_from throws otherwise).
bool canMerge(const faiss::Index& index) {
  return dynamic_cast<const faiss::IndexFlatCodes*>(&index) || dynamic_cast<const faiss::IndexFastScan*>(&index) ||
         dynamic_cast<const faiss::IndexIVF*>(&index) || dynamic_cast<const faiss::IndexIDMap*>(&index) ||
         dynamic_cast<const faiss::IndexPreTransform*>(&index);
}

void check(const faiss::Index& a, const faiss::Index& b) {
  if (!canMerge(a)) throw ArgumentError(code::kUnsupported, indexTypeName(a) + " cannot merge (FAISS 1.7.3 has no merge for it)");
  if (typeid(a) != typeid(b)) incompatible("type (" + indexTypeName(a) + " and " + indexTypeName(b) + ")");
  if (a.d != b.d)
    throw ArgumentError(code::kDimension, "Expected an index of dimension " + std::to_string(a.d) +
                                              " to merge from but it has dimension " + std::to_string(b.d));
  if (a.metric_type != b.metric_type || a.metric_arg != b.metric_arg) incompatible("metric");
  if (a.is_trained != b.is_trained) incompatible("training (one is trained, the other not)");

  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&a)) {
    return check(*m->index, *static_cast<const faiss::IndexIDMap&>(b).index);
  }
  if (auto* p = dynamic_cast<const faiss::IndexPreTransform*>(&a)) {
    const auto& q = static_cast<const faiss::IndexPreTransform&>(b);
    if (p->chain.size() != q.chain.size()) incompatible("pre-transforms");
    for (size_t i = 0; i < p->chain.size(); i++)
      if (bytesOf(p->chain[i]) != bytesOf(q.chain[i])) incompatible("pre-transform " + std::to_string(i));
    return check(*p->index, *q.index);
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&a)) {
    const auto& other = static_cast<const faiss::IndexIVF&>(b);
    if (ivf->nlist != other.nlist) incompatible("nlist");
    if (ivf->code_size != other.code_size) incompatible("code size");
    if (ivf->direct_map.type != faiss::DirectMap::NoMap || other.direct_map.type != faiss::DirectMap::NoMap)
      throw ArgumentError(code::kUnsupported, "Cannot merge IVF indexes with a direct map (FAISS 1.7.3 does not)");
    // A fast-scan IVF's block lists take entries only into an empty list, and
    // FAISS 1.7.3 merges lists inside an OpenMP loop, where that refusal ends
    // the process.
    if (dynamic_cast<const faiss::BlockInvertedLists*>(ivf->invlists))
      throw ArgumentError(code::kUnsupported, "Cannot merge fast-scan IVF indexes (FAISS 1.7.3 does not)");
    // FAISS compares the two quantizers' centroids itself (check_compatible_for_merge).
  }
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(&a)) {
    const auto& other = static_cast<const faiss::IndexIVFPQ&>(b);
    if (pq->by_residual != other.by_residual || !samePq(pq->pq, other.pq)) incompatible("product quantizer");
  } else if (auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(&a)) {
    const auto& other = static_cast<const faiss::IndexIVFScalarQuantizer&>(b);
    if (sq->by_residual != other.by_residual || !sameSq(sq->sq, other.sq)) incompatible("scalar quantizer");
  } else if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(&a)) {
    if (!samePq(pq->pq, static_cast<const faiss::IndexPQ&>(b).pq)) incompatible("product quantizer");
  } else if (auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(&a)) {
    if (!sameSq(sq->sq, static_cast<const faiss::IndexScalarQuantizer&>(b).sq)) incompatible("scalar quantizer");
  } else if (auto* fs = dynamic_cast<const faiss::IndexPQFastScan*>(&a)) {
    if (!samePq(fs->pq, static_cast<const faiss::IndexPQFastScan&>(b).pq)) incompatible("product quantizer");
  }
  if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(&a)) {
    if (codes->code_size != static_cast<const faiss::IndexFlatCodes&>(b).code_size) incompatible("code size");
  }
}

}  // namespace

void requireMergeable(const faiss::Index& into, const faiss::Index& from) { check(into, from); }

}  // namespace fp
