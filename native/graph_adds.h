// What makes an add to an HNSW graph (IndexHNSW*, IndexBinaryHNSW, alone or
// under an IDMap or a transform: the handle's graph, handle_core.h) build the
// same graph wherever it runs, given the same index and the same vectors: a
// cluster's replicas (serve --cluster) each build their own copy of every index
// from the same log, and must answer alike (docs/cluster.md, what is guaranteed).
//
// Two things decide the graph besides the vectors. The levels: FAISS draws one
// per vertex from the graph's generator (seeded 12345 at construction), and the
// generator is not in FAISS's file, so a graph read back from a snapshot would
// draw its next levels from the start of the sequence while the copy that never
// left memory draws on from where it was. The threads: with more than one, the
// vertices of a level are linked concurrently and the lists depend on which
// thread got where first (kernels/hnsw_build.h).
#pragma once

#include <faiss/impl/HNSW.h>

#include <cstdint>

namespace fp {

// Puts the graph's level generator where FAISS's own is after drawing the levels
// of the vertices the graph holds: FAISS's seed, one draw per vertex. A graph
// that never left memory is there already (the same levels as Python's); one
// read from a file now draws on as that one would. O(vertices), once per graph
// read (the handle keeps it in place: HandleCore::graphForAdd).
void placeLevelDraws(faiss::HNSW& graph);

// The most OpenMP threads an add to a graph may use, the add of an IVF's train
// to its HNSW quantizer included (quantizer_graph_adds.h) (0: no cap, an add's share
// of the cores as any call's: threads.h). 1: the same graph from the same
// vectors on any machine; a cluster's node sets it (lib/threads.ts
// setGraphAddThreads).
void setGraphAddThreads(int n);
int graphAddThreads();

// The `useful` of an add's ThreadScope: the cap where `graph` is not null.
int64_t addThreadsUseful(const faiss::HNSW* graph);

}  // namespace fp
