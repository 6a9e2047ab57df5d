#include "search_cost.h"

#include <algorithm>
#include <atomic>

namespace fp {
namespace {

// 1 ms: an HNSW or small IVF query fits (0.25 ms here, but 0.6-1.6 ms for a while
// after the index sat idle behind a large flat scan: the budget leaves room for
// that), a flat scan of more than ~20k x 128 vectors does not. The event loop stays
// far below the 5 ms delay counted as blocking: at most one inline search per turn.
std::atomic<int64_t> budgetNs{1'000'000};

}  // namespace

void setInlineBudgetNs(int64_t ns) { budgetNs = std::max<int64_t>(0, ns); }
int64_t inlineBudgetNs() { return budgetNs.load(); }

void SearchCost::record(const Tunables& t, int64_t ntotal, int64_t ns) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool comparable = count_ > 0 && tunables_ == t && ntotal <= 2 * ntotal_ && ntotal_ <= 2 * ntotal;
  if (!comparable) count_ = next_ = 0;
  samples_[next_] = ns;
  next_ = (next_ + 1) % kSamples;
  count_ = std::min(count_ + 1, kSamples);
  tunables_ = t;
  ntotal_ = ntotal;
}

bool SearchCost::fitsInline(const Tunables& t, int64_t ntotal) const {
  const int64_t budget = inlineBudgetNs();
  if (budget <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (count_ == 0 || !(tunables_ == t) || ntotal > std::max<int64_t>(2 * ntotal_, 64)) return false;
  std::array<int64_t, kSamples> sorted = samples_;
  std::nth_element(sorted.begin(), sorted.begin() + count_ / 2, sorted.begin() + count_);
  return sorted[count_ / 2] <= budget;  // the upper median when count_ is even
}

}  // namespace fp
