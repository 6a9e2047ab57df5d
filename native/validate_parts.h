// The parts of the structural checks (validate.h) that float and binary indexes
// share: FAISS's HNSW graph and inverted lists are the same structures under
// faiss::IndexHNSW / IndexIVF and faiss::IndexBinaryHNSW / IndexBinaryIVF.
#pragma once

#include <faiss/impl/HNSW.h>
#include <faiss/invlists/DirectMap.h>
#include <faiss/invlists/InvertedLists.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace fp {

// ERR_CORRUPT_INDEX "The index is inconsistent: <what>" unless `ok`.
void requireConsistent(bool ok, const std::string& what);
// ERR_UNSUPPORTED: `what` is not checked, so not accepted from outside.
[[noreturn]] void refuseUnchecked(const std::string& what);

// Levels, offsets, level probabilities, every link in range and on a level its
// target has, the entry point, efSearch / efConstruction / upper_beam bounds.
void validateHnswGraph(const faiss::HNSW& hnsw, int64_t ntotal);
// The blocks a fast-scan IVF keeps its codes in (n_per_block vectors in
// block_size bytes); none for any other IVF, whose block lists are refused.
struct BlockShape {
  size_t nPerBlock = 0;
  size_t blockSize = 0;
};

// Array lists (or lists mapped from a file, or a fast-scan IVF's block lists of
// `blocks`) whose codes match their ids and whose sizes add up to ntotal.
void validateInvertedLists(const faiss::InvertedLists* invlists, size_t nlist, size_t codeSize, int64_t ntotal,
                           BlockShape blocks = {});
// A direct map of a known kind whose entries point inside the lists.
void validateDirectMap(const faiss::DirectMap& dm, const faiss::InvertedLists& invlists, size_t nlist, int64_t ntotal);

}  // namespace fp
