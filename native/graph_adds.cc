#include "graph_adds.h"

#include <faiss/utils/random.h>

#include <algorithm>
#include <atomic>
#include <climits>

namespace fp {
namespace {

std::atomic<int> addThreadsCap{0};

// FAISS's seed (HNSW::HNSW: rng(12345)); HNSW::random_level takes one draw (rand_float: one mt()) per vertex.
constexpr int64_t kLevelSeed = 12345;

}  // namespace

void placeLevelDraws(faiss::HNSW& graph) {
  graph.rng = faiss::RandomGenerator(kLevelSeed);
  graph.rng.mt.discard(graph.levels.size());
}

void setGraphAddThreads(int n) { addThreadsCap = std::max(0, n); }

int graphAddThreads() { return addThreadsCap.load(); }

int64_t addThreadsUseful(const faiss::HNSW* graph) {
  const int cap = addThreadsCap.load();
  return graph && cap > 0 ? cap : INT64_MAX;
}

}  // namespace fp
