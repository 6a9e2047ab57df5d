// Structural checks of a binary index read from untrusted bytes, as validate.h
// does for float indexes: what would make FAISS read or write out of bounds is
// refused (ERR_CORRUPT_INDEX) for IndexBinaryFlat, IndexBinaryIVF and
// IndexBinaryHNSW; other binary types are refused as unchecked (ERR_UNSUPPORTED).
#pragma once

#include <faiss/IndexBinary.h>

namespace fp {

void validateBinaryIndex(const faiss::IndexBinary& index);

}  // namespace fp
