// The coarse assignments of an IndexIVFFlat's train (its k-means) and add, by the
// flat batch kernel (kernels/flat_batch.h), with FAISS's answers bit for bit.
//
// Building an IVFFlat index is mostly one search, done again and again: each
// k-means iteration of IndexIVF::train finds every training vector's nearest
// centroid (a flat search, k = 1, of n vectors on nlist centroids), and
// IndexIVF::add finds every added vector's list the same way. FAISS 1.7.3 does
// it on its BLAS path: an sgemm_ into a distance block, then a second pass over
// the block. The flat batch kernel answers the same searches with the products
// in registers and the queries split across the cores (nlist centroids are
// fewer than one of the kernel's blocks), so the centroids of train and the
// lists of add are FAISS's own (the same k-means, the same seed, the same
// arithmetic), only found faster. Everything else is FAISS's code.
//
// The flatBatch switch turns it off with the rest of that kernel; each search
// it answers counts as one of flatBatch's (kernelStats), each it leaves to FAISS
// under flatBatch's reasons.
#pragma once

#include <faiss/Index.h>

#include <cstdint>

namespace fp {

// index.train(n, x), its k-means searching through the kernel: returns true
// when it trained; false, having done nothing, when this is not exactly an
// IndexIVFFlat over an IndexFlat / IndexFlatL2 of the L2 metric whose k-means
// FAISS runs on the quantizer (quantizer_trains_alone 0, no clustering_index),
// or the flatBatch switch is off: then FAISS trains.
bool ivfBuildTrain(faiss::Index& index, int64_t n, const float* x);

// index.add(n, x) / add_with_ids(n, x, ids) (ids null: the former), the vectors'
// lists found by the kernel: true when it added; false, having changed nothing,
// for anything the kernel does not answer (as for ivfBuildTrain, or a search the
// kernel leaves to FAISS: fewer than 20 vectors, a product that overflows): then
// FAISS adds.
bool ivfBuildAdd(faiss::Index& index, int64_t n, const float* x, const int64_t* ids);

}  // namespace fp
