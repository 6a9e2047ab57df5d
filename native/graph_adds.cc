#include "graph_adds.h"

#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/utils/random.h>

#include <algorithm>
#include <atomic>
#include <climits>

namespace fp {
namespace {

std::atomic<int> addThreadsCap{0};

// FAISS's seed (HNSW::HNSW: rng(12345)).
constexpr int64_t kLevelSeed = 12345;

}  // namespace

faiss::HNSW* graphOf(faiss::Index& index) {
  if (auto* h = dynamic_cast<faiss::IndexHNSW*>(&index)) return &h->hnsw;
  if (auto* m = dynamic_cast<faiss::IndexIDMap*>(&index)) return m->index ? graphOf(*m->index) : nullptr;
  if (auto* t = dynamic_cast<faiss::IndexPreTransform*>(&index)) return t->index ? graphOf(*t->index) : nullptr;
  if (auto* r = dynamic_cast<faiss::IndexRefine*>(&index)) return r->base_index ? graphOf(*r->base_index) : nullptr;
  return nullptr;
}

faiss::HNSW* graphOf(faiss::IndexBinary& index) {
  if (auto* h = dynamic_cast<faiss::IndexBinaryHNSW*>(&index)) return &h->hnsw;
  if (auto* m = dynamic_cast<faiss::IndexBinaryIDMap*>(&index)) return m->index ? graphOf(*m->index) : nullptr;
  return nullptr;
}

void reseedLevels(faiss::HNSW& graph) {
  graph.rng = faiss::RandomGenerator(kLevelSeed + static_cast<int64_t>(graph.levels.size()));
}

void setGraphAddThreads(int n) { addThreadsCap = std::max(0, n); }

int graphAddThreads() { return addThreadsCap.load(); }

int64_t addThreadsUseful(const faiss::HNSW* graph) {
  const int cap = addThreadsCap.load();
  return graph && cap > 0 ? cap : INT64_MAX;
}

}  // namespace fp
