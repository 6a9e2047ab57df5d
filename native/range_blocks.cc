#include "range_blocks.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "memory_limits.h"

namespace fp {
namespace {

[[noreturn]] void tooManyResults(int64_t found, int64_t maxResults) {
  throw ArgumentError(code::kResourceLimit,
                      "range_search found more than " + std::to_string(maxResults) + " results (" +
                          std::to_string(found) + " in the queries searched so far), which would pass the per-call " +
                          "memory limit (perCallBytes) of " + formatBytes(perCallBytes()) +
                          "; use a tighter radius or fewer queries");
}

}  // namespace

void rangeSearchInBlocks(int64_t n, int64_t ntotal, int64_t maxResults, faiss::RangeSearchResult* result,
                         const std::function<void(int64_t i0, int64_t nb, faiss::RangeSearchResult* part)>& searchBlock) {
  const int64_t perQuery = std::max<int64_t>(1, ntotal);
  // As many queries as could each match every vector within what is left.
  auto blockAfter = [&](int64_t found, int64_t i0) { return std::clamp<int64_t>((maxResults - found) / perQuery, 1, n - i0); };
  if (blockAfter(0, 0) == n) {
    searchBlock(0, n, result);
    const int64_t found = static_cast<int64_t>(result->lims[n]);
    if (found > maxResults) tooManyResults(found, maxResults);
    return;
  }
  // Blocks of queries, each into its own result, then one result for the call.
  std::vector<std::unique_ptr<faiss::RangeSearchResult>> parts;
  int64_t found = 0;
  for (int64_t i0 = 0, nb = 0; i0 < n; i0 += nb) {
    nb = blockAfter(found, i0);
    auto part = std::make_unique<faiss::RangeSearchResult>(nb);
    searchBlock(i0, nb, part.get());
    found += static_cast<int64_t>(part->lims[nb]);
    if (found > maxResults) tooManyResults(found, maxResults);
    parts.push_back(std::move(part));
  }
  result->labels = new faiss::Index::idx_t[found];
  result->distances = new float[found];
  size_t at = 0;
  int64_t q = 0;
  for (const auto& part : parts) {
    const size_t count = part->lims[part->nq];
    for (size_t i = 0; i < part->nq; i++) result->lims[q + i] = at + part->lims[i];
    std::copy(part->labels, part->labels + count, result->labels + at);
    std::copy(part->distances, part->distances + count, result->distances + at);
    at += count;
    q += static_cast<int64_t>(part->nq);
  }
  result->lims[n] = at;
}

}  // namespace fp
