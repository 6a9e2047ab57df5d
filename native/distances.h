// FAISS's index-free functions, as Python's faiss.knn, faiss.pairwise_distances
// and faiss.normalize_L2: each a Promise-returning module function whose work
// runs on the libuv pool (workers/distances.cc), with its results held to the
// per-call memory limit before they are allocated (a distance matrix is
// nq x nb floats).
#pragma once

#include <napi.h>

namespace fp {

// Adds knn, pairwiseDistances and normalizeL2 to `exports`.
void defineDistances(Napi::Env env, Napi::Object exports);

}  // namespace fp
