// Checks an index_binary_factory description before FAISS sees it. FAISS 1.7.3's
// binary factory reads its sizes with sscanf, which takes any prefix
// ("BIVF16garbage" builds BIVF16), any size (BHNSW0 and BHNSW1 cannot build a
// graph; BIVF2000000000 allocates gigabytes for an empty index), and it builds
// hash indexes the sandbox does not check. So only an allow-list passes, each
// with the sizes it works with, the whole description matched:
//   BFlat | BIVF<nlist>[_HNSW<M>] | BHNSW<M>
//   1 <= nlist <= 2^24; 2 <= M <= 1024.
// BHash<b> and BHash<nhash>x<b> (IndexBinaryHash, IndexBinaryMultiHash) are
// ERR_UNSUPPORTED. What building and training allocates is held to the per-call
// memory limit (memory_limits.h).
#pragma once

#include <cstdint>
#include <string>

namespace fp {

// Throws ERR_UNSUPPORTED (a hash index), ERR_INVALID_ARGUMENT (a size out of
// range, or no binary factory description), ERR_RESOURCE_LIMIT (over the limit).
void checkBinaryFactory(int64_t d, const std::string& description);

// The centroids k-means trains (nlist x d floats, d in bits) and the empty
// inverted lists of a binary IVF, for its constructor.
int64_t binaryIvfBytes(int64_t d, int64_t nlist);

}  // namespace fp
