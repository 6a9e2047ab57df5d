// Structural checks of an index read from untrusted bytes. FAISS's reader trusts
// its input: a file with a negative ntotal or an HNSW neighbour id past the end
// loads fine and crashes the process on the next search. These checks catch what
// would make FAISS read or write out of bounds, for every type the safe path
// accepts; other types are refused as unchecked. The sandbox runs them on what it
// read (native/sandbox/main.cc), and the addon again on a file it maps (io.cc).
#pragma once

#include <faiss/Index.h>

namespace fp {

// Throws ArgumentError: ERR_CORRUPT_INDEX for an inconsistent index,
// ERR_UNSUPPORTED for a type these checks do not cover.
void validateIndex(const faiss::Index& index);

}  // namespace fp
