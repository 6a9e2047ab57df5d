// The block sizes of FAISS's BLAS distance computations (flat search, k-means).
#pragma once

namespace fp {

// Once per process: FAISS's BLAS path multiplies blocks of 4,096 queries by blocks
// of 1,024 stored vectors. Blocks of 256 queries by 4,096 vectors make a batch of
// 32 queries on 200,000 x 128 about 20% faster here (fewer, larger products and
// parallel regions, and batches are what dynamic batching sends), and keep the
// distance block at 4 MB (FAISS's default touches 16 MB for 1,000 queries, and
// 4,096 x 4,096 made a 1,000-query batch on 10,000 vectors twice as slow: the
// block no longer stays in cache). These are FAISS's own tunables
// (faiss.cvar.distance_compute_blas_query_bs / _database_bs in Python),
// process-wide; the distances are the same dot products.
void tuneBlasBlocks();

}  // namespace fp
