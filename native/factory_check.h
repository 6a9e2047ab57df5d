// Checks an index_factory description before FAISS sees it. FAISS 1.7.3's
// factory takes every size its regular expressions match and builds whatever
// they describe: PQ0 divides by zero, PQ8x32 and HNSW0 crash, HNSW1 grows
// without end, NSG, IVFPQR and the additive quantizers crash on ordinary use
// (searched empty, written untrained), and IVF2000000000 allocates
// gigabytes for an empty index. So only an allow-list of components is passed
// on, each with the sizes it works with, and what the index will allocate as it
// is built and trained is held to the per-call memory limit (memory_limits.h).
//
// Accepted, with d the dimension each component sees (a transform changes it):
//   [IDMap,|IDMap2,] {transform,} index        or   {transform,} index,RFlat
//   transform: PCA<n> PCAW<n> PCAR<n> PCAWR<n> (1 <= n <= d), L2norm,
//              OPQ<M>[_<n>] (1 <= n <= d, M divides n)
//   index:     Flat | PQ<M>[x<nbits>][np] | PQ<M>x4fs[_32] | SQ4 | SQ6 | SQ8 | SQfp16 | LSH[r][t]
//              | HNSW[<M>][(,|_)Flat | (,|_)PQ<M>[np] | (,|_)SQ...]
//              | IVF<nlist>[_HNSW[<M>]],(Flat | PQ<M>[x<nbits>][np] | PQ<M>x4fs[r][_32] | SQ...)
//   PQ: M divides d, 1 <= nbits <= 16; fast-scan PQ: block size 32 (the default;
//   FAISS 1.7.3 aborts on some searches with others); HNSW: 2 <= M <= 1024;
//   IVF: 1 <= nlist <= 2^24.
#pragma once

#include <cstdint>
#include <string>

namespace fp {

constexpr int64_t kMaxNlist = int64_t{1} << 24;
constexpr int64_t kMinHnswM = 2;
constexpr int64_t kMaxHnswM = 1024;
constexpr int64_t kMaxPqBits = 16;

// Throws ERR_UNSUPPORTED for a component FAISS knows that is not accepted,
// ERR_INVALID_ARGUMENT for a size out of range or a string that is no factory
// description, ERR_RESOURCE_LIMIT when building it would pass the limit.
void checkFactory(int64_t d, const std::string& description);

// What building and training these indexes allocates (codebooks, centroid
// tables, empty inverted lists), for the class constructors.
int64_t pqTablesBytes(int64_t d, int64_t nbits);
int64_t ivfBytes(int64_t d, int64_t nlist);
// IVFPQ's training precomputes a table of nlist x M x 2^nbits floats, which
// FAISS skips above precomputed_table_max_bytes (2 GiB).
int64_t ivfpqTableBytes(int64_t nlist, int64_t M, int64_t nbits);

}  // namespace fp
