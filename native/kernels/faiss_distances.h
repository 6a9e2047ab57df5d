// FAISS 1.7.3's own vector distances (fvec_L2sqr, fvec_inner_product), computed
// four vectors at a time with the same result, bit for bit, as FAISS's one-at-a-
// time functions.
//
// Why a copy: FAISS's HNSW search computes one neighbour distance per virtual
// call; our kernels compute a node's unvisited neighbours together so that the
// four dependency chains overlap. Their answers must stay FAISS's own, so the
// arithmetic here follows FAISS's x86 code (utils/distances_simd.cpp, the __AVX__
// branch) operation for operation: an 8-lane accumulator over blocks of 8, the
// high and low halves added, a block of 4, the last 1 to 3 zero-padded, two
// horizontal adds. Whether the compiler fused a multiply and an add into one FMA
// (it depends on FAISS's compiler and -mtune) changes the last bit, so every
// variant is here and the one that matches the linked library is chosen at run
// time by comparing with it (exactDistances()). When none matches (another FAISS
// build, no AVX), the batch calls FAISS's own function for each vector.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fp {

enum class DistanceKind { kL2, kInnerProduct };

// Distances from `q` to the four vectors y[0..3] of `d` floats.
using Distance4Fn = void (*)(const float* q, const float* const y[4], size_t d, float out[4]);
using Distance1Fn = float (*)(const float* q, const float* y, size_t d);

struct ExactDistances {
  Distance4Fn four;
  Distance1Fn one;
  bool replica;  // false: both call FAISS's own function per vector
};

// The functions that give FAISS's fvec_L2sqr / fvec_inner_product results, bit
// for bit; chosen once per process.
const ExactDistances& exactDistances(DistanceKind kind);

}  // namespace fp
