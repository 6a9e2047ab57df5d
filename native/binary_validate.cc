#include "binary_validate.h"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexBinaryIVF.h>

#include <string>
#include <typeinfo>

#include "binary_index_type.h"
#include "validate_parts.h"

namespace fp {
namespace {

// Bits; a code is then at most 128 KiB.
constexpr int64_t kMaxBits = 1 << 20;

template <typename T>
bool is(const faiss::IndexBinary& index) {
  return typeid(index) == typeid(T);
}

void validateCommon(const faiss::IndexBinary& index) {
  requireConsistent(index.d > 0 && index.d <= kMaxBits && index.d % 8 == 0, "binary dimension out of range");
  requireConsistent(index.code_size == index.d / 8, "binary code size does not match the dimension");
  requireConsistent(index.ntotal >= 0, "negative ntotal");
  requireConsistent(index.is_trained || index.ntotal == 0, "an untrained index that holds vectors");
  requireConsistent(index.metric_type == faiss::METRIC_L2, "binary index with a metric other than Hamming's default");
}

void validateFlat(const faiss::IndexBinaryFlat& index) {
  requireConsistent(index.xb.size() == static_cast<size_t>(index.ntotal) * index.code_size, "codes do not match ntotal");
}

// The storage must be flat: IndexBinaryHNSW's distance computer assumes it.
void validateHnsw(const faiss::IndexBinaryHNSW& index) {
  requireConsistent(index.storage != nullptr && is<faiss::IndexBinaryFlat>(*index.storage),
                    "binary HNSW without a flat storage");
  requireConsistent(index.storage->ntotal == index.ntotal && index.storage->d == index.d,
                    "binary HNSW storage does not match");
  validateHnswGraph(index.hnsw, index.ntotal);
  validateBinaryIndex(*index.storage);
}

// The coarse quantizer labels by position (flat or HNSW), so its labels are list
// numbers below nlist. Before training it may be empty, and then so is the IVF.
void validateIvf(const faiss::IndexBinaryIVF& index) {
  requireConsistent(index.nlist > 0 && index.quantizer != nullptr, "binary IVF without quantizer");
  requireConsistent(index.nprobe >= 1, "binary IVF nprobe out of range");
  const faiss::IndexBinary& q = *index.quantizer;
  requireConsistent(is<faiss::IndexBinaryFlat>(q) || is<faiss::IndexBinaryHNSW>(q),
                    "binary IVF quantizer that is neither flat nor HNSW");
  const bool emptyUntrained = !index.is_trained && q.ntotal == 0 && index.ntotal == 0;
  requireConsistent((q.ntotal == static_cast<int64_t>(index.nlist) || emptyUntrained) && q.d == index.d,
                    "binary IVF quantizer does not match nlist and d");
  validateBinaryIndex(q);
  requireConsistent(index.invlists != nullptr && index.invlists->nlist == index.nlist,
                    "binary IVF inverted lists do not match nlist");
  requireConsistent(index.invlists->code_size == static_cast<size_t>(index.code_size),
                    "binary IVF code size does not match its lists");
  validateInvertedLists(index.invlists, index.nlist, index.code_size, index.ntotal);
  validateDirectMap(index.direct_map, *index.invlists, index.nlist, index.ntotal);
}

}  // namespace

void validateBinaryIndex(const faiss::IndexBinary& index) {
  // The type first: FAISS's other binary types keep other header fields (an
  // IndexBinaryIDMap's code size is 0), and they are refused as unchecked.
  if (!is<faiss::IndexBinaryFlat>(index) && !is<faiss::IndexBinaryHNSW>(index) && !is<faiss::IndexBinaryIVF>(index))
    refuseUnchecked(binaryIndexTypeName(index) + " files");
  validateCommon(index);
  if (is<faiss::IndexBinaryFlat>(index)) return validateFlat(static_cast<const faiss::IndexBinaryFlat&>(index));
  if (is<faiss::IndexBinaryHNSW>(index)) return validateHnsw(static_cast<const faiss::IndexBinaryHNSW&>(index));
  validateIvf(static_cast<const faiss::IndexBinaryIVF&>(index));
}

}  // namespace fp
