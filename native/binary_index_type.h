// The Python-faiss class name of a binary index ("IndexBinaryIVF", ...), which
// the TS layer uses to give a loaded index the matching class.
#pragma once

#include <faiss/IndexBinary.h>

#include <string>

namespace fp {

std::string binaryIndexTypeName(const faiss::IndexBinary& index);

}  // namespace fp
