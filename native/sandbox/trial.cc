#include "trial.h"

#include <faiss/IndexIDMap.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace fp {
namespace {

// Two queries, so batch and single-query code paths are both reached where FAISS
// splits on nq; values span the usual range of embeddings.
std::vector<float> trialVectors(faiss::Index& index, int n) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * index.d);
  for (auto& v : x) v = u(rng);
  return x;
}

template <typename F>
void tolerateFaissErrors(F&& f) {
  try {
    f();
  } catch (const std::exception&) {
    // The same call in the addon would answer with a coded error: not a crash.
  }
}

// Not on an empty index: FAISS 1.7.3 mishandles those whatever the file holds
// (an empty IDMap's search reads past its id table), and the addon answers
// searches of empty indexes itself.
void trialSearch(faiss::Index& index) {
  if (index.ntotal == 0) return;
  const int nq = 2;
  const faiss::Index::idx_t k = std::max<faiss::Index::idx_t>(1, std::min<faiss::Index::idx_t>(index.ntotal, 10));
  const auto x = trialVectors(index, nq);
  std::vector<float> distances(nq * k);
  std::vector<faiss::Index::idx_t> labels(nq * k);
  tolerateFaissErrors([&] { index.search(nq, x.data(), k, distances.data(), labels.data()); });
}

void trialAdd(faiss::Index& index) {
  const auto x = trialVectors(index, 1);
  if (dynamic_cast<faiss::IndexIDMap*>(&index)) {
    const faiss::Index::idx_t id = INT64_MAX - 1;
    tolerateFaissErrors([&] { index.add_with_ids(1, x.data(), &id); });
  } else {
    tolerateFaissErrors([&] { index.add(1, x.data()); });
  }
}

std::vector<uint8_t> trialCodes(const faiss::IndexBinary& index, int n) {
  std::mt19937 rng(1234);
  std::vector<uint8_t> x(static_cast<size_t>(n) * index.code_size);
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

void trialBinarySearch(faiss::IndexBinary& index) {
  if (index.ntotal == 0) return;  // as for float indexes: the addon answers empty ones itself
  const int nq = 2;
  const faiss::Index::idx_t k = std::max<faiss::Index::idx_t>(1, std::min<faiss::Index::idx_t>(index.ntotal, 10));
  const auto x = trialCodes(index, nq);
  std::vector<int32_t> distances(nq * k);
  std::vector<faiss::Index::idx_t> labels(nq * k);
  tolerateFaissErrors([&] { index.search(nq, x.data(), k, distances.data(), labels.data()); });
}

}  // namespace

void exerciseBinaryIndex(faiss::IndexBinary& index) {
  if (!index.is_trained) return;
  trialBinarySearch(index);
  const auto x = trialCodes(index, 1);
  tolerateFaissErrors([&] { index.add(1, x.data()); });
  trialBinarySearch(index);
}

void exerciseIndex(faiss::Index& index, bool mayAdd) {
  if (!index.is_trained) return;  // searches and adds refuse before touching any table
  trialSearch(index);
  if (!mayAdd) return;
  trialAdd(index);
  trialSearch(index);
}

}  // namespace fp
