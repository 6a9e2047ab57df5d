// Structural checks of an index read from outside (an HTTP import). FAISS's
// reader trusts its input: a file with a negative ntotal or an HNSW neighbour id
// past the end loads fine and crashes the process on the next search. These
// checks catch what would make FAISS read or write out of bounds, for the types
// the service accepts; other types are refused as unvalidated.
#pragma once

#include <faiss/Index.h>

namespace fp {

// Throws ArgumentError: ERR_CORRUPT_INDEX for an inconsistent index,
// ERR_UNSUPPORTED for a type these checks do not cover.
void validateIndex(const faiss::Index& index);

}  // namespace fp
