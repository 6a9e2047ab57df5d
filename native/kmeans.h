// k-means as Python's faiss.Kmeans: FAISS's Clustering trained on the libuv pool
// (workers/kmeans.cc) with an IndexFlatL2 (IndexFlatIP when spherical) for
// assignment, which holds the centroids afterwards and comes back as an index.
#pragma once

#include <napi.h>

namespace fp {

// Adds kmeansTrain to `exports`:
// (x, d, k, niter, nredo, verbose, spherical, intCentroids, updateIndex,
//  frozenCentroids, minPointsPerCentroid, maxPointsPerCentroid, seed,
//  weights?, initCentroids?) -> Promise<{ centroids, obj, iterationStats, index }>.
void defineKmeans(Napi::Env env, Napi::Object exports);

}  // namespace fp
