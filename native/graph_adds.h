// What makes an add to an HNSW index (a graph: IndexHNSW*, IndexBinaryHNSW,
// alone or under an IDMap, a transform or a refinement) build the same graph
// wherever it runs, given the same index and the same vectors: the cluster's
// replicas (serve --cluster) each build their own copy of every index from the
// same log, and must answer alike (docs/cluster.md, replica state).
//
// Two things decide the graph besides the vectors. The levels: FAISS draws one
// from the graph's RandomGenerator (seeded 12345 at construction) per vertex,
// and that generator is not in FAISS's file, so a graph read back from a
// snapshot would draw its next levels from the start of the sequence while the
// copy that never left memory draws on from where it was. The threads: with
// more than one, vertices of a level are linked concurrently and the lists
// depend on which thread got where first (kernels/hnsw_build.h).
#pragma once

#include <faiss/Index.h>
#include <faiss/IndexBinary.h>
#include <faiss/impl/HNSW.h>

#include <cstdint>

namespace fp {

// The graph inside `index`, or null where there is none.
faiss::HNSW* graphOf(faiss::Index& index);
faiss::HNSW* graphOf(faiss::IndexBinary& index);

// Before an add: the generator the levels are drawn from, reseeded from the
// graph's own size (FAISS's 12345 plus the vertices it holds), so the levels of
// the vertices an add brings depend only on the graph it adds to, not on
// whether that graph was read from a file. A first add to an empty graph (a
// build, or a rebuild: reset, then one add) draws exactly FAISS's levels.
void reseedLevels(faiss::HNSW& graph);

// The most OpenMP threads an add to a graph may use (0: no cap, an add's share
// of the cores as any call's: threads.h). 1: the same graph from the same
// vectors on any machine; a cluster's node sets it (lib/threads.ts
// setGraphAddThreads).
void setGraphAddThreads(int n);
int graphAddThreads();

// The `useful` of an add's ThreadScope: the cap where `graph` is not null.
int64_t addThreadsUseful(const faiss::HNSW* graph);

}  // namespace fp
