// Distances from one query to consecutive stored vectors, bit for bit those of
// FAISS's own faiss::fvec_L2sqr / faiss::fvec_inner_product.
//
// Why exact rather than merely close: a flat search answers by ranking
// distances, and a distance that differs in its last bit can swap two
// neighbours at a near-tie, which the issue forbids (identical labels to
// FAISS). FAISS 1.7.3 compiled for AVX-512 (scripts/build-faiss.sh) runs its
// hand-written 8-lane AVX loop, which fixes the order of the sum: eight
// running sums over the 8-float chunks (multiply, then add, each rounded),
// the two 4-lane halves added, a 4-float tail and a zero-padded 1..3-float
// tail each added with one fused multiply-add, and two horizontal adds. The
// AVX-512 kernel here does the same operations in the same order for two
// stored vectors per 512-bit register and eight per step, so each distance is
// the same float; only more of them are computed per instruction.
//
// The operations are written with the _round intrinsics (non-contractible
// builtins), so the compiler cannot fuse a multiply and an add that FAISS
// keeps apart, whatever -ffp-contract is. rowKernelsMatchFaiss() checks the
// result against the linked FAISS once per process; where it differs (a FAISS
// built another way), or without AVX-512, every distance comes from FAISS's
// own function.
#pragma once

#include <cstddef>

namespace fp {

// out[i] = distance from x to the i-th of the n rows of y (row-major, d floats
// each), for rows already in cache: eight rows are read side by side.
void l2sqrRows(const float* x, const float* y, size_t d, size_t n, float* out);
void innerProductRows(const float* x, const float* y, size_t d, size_t n, float* out);

// The same for rows read from memory: one row after the other with FAISS's own
// function. Eight rows read side by side are eight interleaved streams, which
// this machine's memory system serves 2-3 times slower than one (measured on the
// 2-core EPYC VM: a plain read of 100 MB, rows one by one against eight side by
// side), so the first pass over a block reads it in order and the kernel above
// computes the other queries' distances from cache.
void l2sqrRowsInOrder(const float* x, const float* y, size_t d, size_t n, float* out);
void innerProductRowsInOrder(const float* x, const float* y, size_t d, size_t n, float* out);

// Whether the kernels above run (AVX-512 compiled in and identical to the
// linked FAISS on a sample of every tail length); computed once.
bool rowKernelsMatchFaiss();

}  // namespace fp
