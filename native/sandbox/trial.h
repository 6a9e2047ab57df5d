// A trial run of an index read from outside, inside the sandbox: a search, an
// add and a search again, so that a file whose structure passes the checks but
// whose first use would still crash FAISS crashes here, where it only means the
// file is refused. FAISS exceptions are fine (the real call would give a coded
// error too); only a crash or a hang is a verdict.
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexBinary.h>

namespace fp {

// `mayAdd`: false for memory-mapped indexes, which cannot change.
void exerciseIndex(faiss::Index& index, bool mayAdd);
// The same for a binary index.
void exerciseBinaryIndex(faiss::IndexBinary& index);

}  // namespace fp
