// What kind of FAISS index an object is, as the layers above need to know it: the
// Python-faiss class name (the TS layer gives a loaded index the matching class),
// and whether concurrent searches gain from being run as one batch (the service's
// search scheduler decides from it).
#pragma once

#include <faiss/Index.h>

#include <string>

namespace fp {

std::string indexTypeName(const faiss::Index& index);

// Whether FAISS answers a batch of queries faster than the same queries one call
// each: true for a brute-force flat index (a batch of 20 or more is one BLAS
// matrix product), alone or under an IDMap. Graph and inverted-file indexes cost
// the same per query either way, and one batch at a time leaves cores idle that
// concurrent single searches would use. Measured by npm run bench:batching and
// npm run bench (bench/RESULTS.md). A GPU index (device_index.h) of any type gains:
// a GPU answers a batch in about the time one query takes.
bool gainsFromBatching(const faiss::Index& index);

}  // namespace fp
