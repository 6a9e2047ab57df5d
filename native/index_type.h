// The Python-faiss class name of an index ("IndexIVFPQ", "IndexIDMap2", ...), which
// the TS layer uses to give a loaded index the matching class.
#pragma once

#include <faiss/Index.h>

#include <string>

namespace fp {

std::string indexTypeName(const faiss::Index& index);

}  // namespace fp
