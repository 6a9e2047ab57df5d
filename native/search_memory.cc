#include "search_memory.h"

#include <faiss/IndexFastScan.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFastScan.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/utils/distances.h>

#include <algorithm>

#include "kernels/flat_batch.h"
#include "kernels/ivf_scan.h"
#include "memory_limits.h"

namespace fp {
namespace {

constexpr int64_t kFloat = 4;
constexpr int64_t kLabel = 8;

// One distance table of a product quantizer: M * ksub floats.
int64_t pqTable(const faiss::ProductQuantizer& pq) {
  return mulBytes(mulBytes(static_cast<int64_t>(pq.M), static_cast<int64_t>(pq.ksub)), kFloat);
}

// What searching `index` for nq queries with k results each allocates besides
// the result arrays (the caller's, or an enclosing index's buffers).
int64_t temporary(const faiss::Index& index, int64_t nq, int64_t k, const Tunables& t, int threads) {
  if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(&index)) return temporary(*m->index, nq, k, t, threads);
  if (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(&index)) {
    // apply_chain keeps each transform's output (nq x d_out floats) until the next.
    int64_t bytes = 0;
    for (const auto* vt : pt->chain) bytes = addBytes(bytes, mulBytes(mulBytes(nq, vt->d_out), kFloat));
    return addBytes(bytes, temporary(*pt->index, nq, k, t, threads));
  }
  if (auto* r = dynamic_cast<const faiss::IndexRefine*>(&index)) {
    // IndexRefine::search: the base index's k * k_factor candidates (the call's
    // kFactor, else the index's), then their exact distances, of the same size.
    const double factor = t.kFactor > 0 ? t.kFactor : r->k_factor;
    const int64_t kBase = std::max<int64_t>(k, factor * k >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(k * factor));
    const int64_t candidates = mulBytes(mulBytes(nq, kBase), 2 * kFloat + kLabel);
    return addBytes(candidates, temporary(*r->base_index, nq, kBase, t, threads));
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) {
    // IndexIVF::search: the coarse assignment (nq x nprobe labels and distances,
    // nprobe at most nlist), the quantizer's own search for it, and per thread a
    // heap of k and the scanner's tables (IVFPQ: up to three M x ksub tables).
    const int64_t nlist = static_cast<int64_t>(ivf->nlist);
    const int64_t nprobe = std::min<int64_t>(t.nprobe > 0 ? t.nprobe : static_cast<int64_t>(ivf->nprobe), nlist);
    int64_t bytes = mulBytes(mulBytes(nq, nprobe), kFloat + kLabel);
    bytes = addBytes(bytes, temporary(*ivf->quantizer, nq, nprobe, Tunables{}, threads));
    int64_t perThread = mulBytes(k, kFloat + kLabel);
    if (auto* ivfpq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf)) perThread = addBytes(perThread, mulBytes(3, pqTable(ivfpq->pq)));
    // The fast-scan IVF computes every query's look-up tables up front: float
    // and quantized (one byte an entry), one per probed list when by residual.
    if (auto* fs = dynamic_cast<const faiss::IndexIVFFastScan*>(ivf)) {
      const int64_t tables = fs->lookup_table_is_3d() ? mulBytes(nq, nprobe) : nq;
      bytes = addBytes(bytes, mulBytes(tables, mulBytes(static_cast<int64_t>(fs->M2 * fs->ksub), kFloat + 1)));
    }
    // The IVFFlat batch kernel's distance buffer (kernels/ivf_scan.h): at most
    // every vector once per query of a thread's slice, and at most its cap.
    if (dynamic_cast<const faiss::IndexIVFFlat*>(ivf) && nq >= 2) {
      const int64_t slice = (nq + threads - 1) / threads;
      perThread = addBytes(perThread, std::min(ivfScanBufferBytes(), mulBytes(mulBytes(slice, index.ntotal), kFloat)));
    }
    return addBytes(bytes, mulBytes(threads, perThread));
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&index)) {
    // IndexHNSW::search: a candidate list of max(efSearch, k), and a PQ storage's
    // distance table, per thread.
    const int64_t ef = std::max<int64_t>(t.efSearch > 0 ? t.efSearch : hnsw->hnsw.efSearch, k);
    const int64_t tables = dynamic_cast<const faiss::IndexPQ*>(hnsw->storage)
                               ? mulBytes(threads, pqTable(static_cast<const faiss::IndexPQ*>(hnsw->storage)->pq))
                               : 0;
    return addBytes(hnswExploreBytes(index.ntotal, ef, threads), tables);
  }
  if (auto* fs = dynamic_cast<const faiss::IndexFastScan*>(&index)) {
    // IndexFastScan::search: every query's look-up table, float and quantized.
    return mulBytes(nq, mulBytes(static_cast<int64_t>(fs->M2 * fs->ksub), kFloat + 1));
  }
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(&index)) {
    // ProductQuantizer::search computes the distance tables of every query at once.
    return mulBytes(nq, pqTable(pq->pq));
  }
  if (dynamic_cast<const faiss::IndexFlat*>(&index)) {
    // The BLAS path: one block of query-by-vector products, the query norms, and
    // the stored vectors' norms (flat_norms.h).
    const int64_t block = mulBytes(mulBytes(faiss::distance_compute_blas_query_bs, faiss::distance_compute_blas_database_bs), kFloat);
    const int64_t blas = addBytes(addBytes(block, mulBytes(addBytes(nq, index.ntotal), kFloat)), flatReservoirBytes(nq, k, threads));
    // Or the addon's batch kernel, then FAISS's path if its products overflow.
    return flatBatchApplies(index, nq, k) ? addBytes(blas, flatBatchTemporaryBytes(index, nq, k, threads)) : blas;
  }
  // Other codecs (SQ, LSH, ...) decode or compare one vector at a time: per
  // thread a few vectors' worth, and a copy of the queries at most.
  return addBytes(mulBytes(nq, mulBytes(index.d, kFloat)), mulBytes(threads, mulBytes(index.d, 4 * kFloat)));
}

}  // namespace

int64_t flatReservoirBytes(int64_t nq, int64_t k, int threads) {
  if (k < faiss::distance_compute_min_k_reservoir) return 0;
  const int64_t capacity = (2 * k + 15) & ~int64_t{15};  // ReservoirResultHandler's
  const int64_t queries = nq >= faiss::distance_compute_blas_threshold
                              ? std::min<int64_t>(nq, std::max(1, faiss::distance_compute_blas_query_bs))
                              : std::max(1, threads);
  return mulBytes(mulBytes(queries, capacity), kFloat + kLabel);
}

int64_t hnswExploreBytes(int64_t ntotal, int64_t ef, int threads) {
  // Per thread: a VisitedTable of one byte per vector, and queues of ef
  // candidates (MinimaxHeap: 8 bytes an entry; two priority queues of
  // (distance, id) pairs: 16 bytes an entry each, say).
  return mulBytes(std::max(1, threads), addBytes(ntotal, mulBytes(ef, 40)));
}

int64_t SearchMemory::total() const { return addBytes(results, temporary); }

std::string SearchMemory::describe() const {
  return "results " + formatBytes(results) + ", temporary buffers " + formatBytes(temporary);
}

SearchMemory knnSearchMemory(const faiss::Index& index, int64_t nq, int64_t k, const Tunables& t, int threads) {
  SearchMemory m;
  m.results = mulBytes(mulBytes(nq, k), kFloat + kLabel);
  m.temporary = temporary(index, nq, k, t, std::max(1, threads));
  return m;
}

int64_t rangeSearchTemporary(const faiss::Index& index, int64_t nq, const Tunables& t, int threads) {
  // Range searches allocate like a search with a small k, plus their results.
  return temporary(index, nq, 1, t, std::max(1, threads));
}

}  // namespace fp
