// Whether FAISS's merge_from can move one index's vectors into another and leave
// both sound. FAISS 1.7.3 checks too little: IndexIDMap2::merge_from casts the
// other index to IndexIDMap2 without checking (an IndexIDMap there: SIGSEGV), the
// reverse leaves the other's id table pointing past its emptied storage, and codes
// made with another metric or other codebooks (PQ, SQ, pre-transforms) are
// accepted and then decoded wrongly.
#pragma once

#include <faiss/Index.h>

namespace fp {

// Throws ArgumentError: ERR_DIMENSION for another dimension, ERR_UNSUPPORTED for
// an index type FAISS cannot merge, ERR_INVALID_ARGUMENT for any other
// difference (type at any level, metric, training, codebooks, lists). Call with
// both indexes locked.
void requireMergeable(const faiss::Index& into, const faiss::Index& from);

}  // namespace fp
