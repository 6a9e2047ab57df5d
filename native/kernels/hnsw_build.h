// The addon's own construction (add) of an IndexHNSWFlat: FAISS 1.7.3's
// algorithm (IndexHNSW::add, hnsw_add_vertices, HNSW::add_with_locks) on
// FAISS's own graph (faiss::HNSW's public arrays), so the index stays a plain
// FAISS index that FAISS writes, reads and searches as usual.
//
// FAISS spends most of a build computing distances one at a time through a
// virtual call, each waiting on memory for its vector, and the rest in
// per-call allocations (std::priority_queue, std::vector) and omp locks. Here a
// node's unvisited neighbours are found first, their vectors prefetched and
// their distances computed four at a time (kernels/exact_distances.h, bit for
// bit FAISS's); the same for a full neighbour list being pruned, where the
// tests between two entries the list's last prune kept are skipped (they pass
// again: PrunedPrefix in hnsw_build.cc); the queues
// live in buffers each thread keeps for the whole call, with FAISS's heap
// operations in FAISS's order (so equal distances come out in FAISS's order);
// the visited table is cleared by a tag, and a node's lock is one byte.
//
// With one thread the graph is FAISS's bit for bit: the same levels (drawn by
// FAISS's own prepare_level_tab from the index's rng), the same insertion order
// (FAISS's seed-789 permutation of each level), the same neighbour lists in the
// same order. With several threads neither FAISS's graph nor this one is
// deterministic; each thread takes the share of each level FAISS's would, then
// helps with what is left of the others' (so none waits at a level's end).
#pragma once

#include <faiss/Index.h>

#include <cstdint>

namespace fp {

// Adds n vectors to `index` (with caller ids where `ids` is not null: an
// IndexIDMap / IndexIDMap2 over the HNSW index) as FAISS's add / add_with_ids
// would, and returns true; returns false, having changed nothing, when the
// kernel is switched off (hnswBuild) or does not cover the index: then FAISS
// adds. Covered: exactly an IndexHNSWFlat over an IndexFlat (L2 or inner
// product), alone or as the direct child of an IndexIDMap or IndexIDMap2.
// What it allocates (per thread a visited table and queues, a lock byte per
// vector) is held to the per-call memory limit (memory_limits.h) first:
// ERR_RESOURCE_LIMIT, nothing changed.
bool hnswBuildAdd(faiss::Index& index, int64_t n, const float* x, const int64_t* ids);

}  // namespace fp
