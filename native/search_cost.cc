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

namespace {

// Whether a search with settings `a` costs at most one with `b`: the same index's, with no larger nprobe or
// efSearch (unset, -1, in both where the index has neither), the same refine factor, and no larger subset.
bool noLarger(const Tunables& a, const Tunables& b) {
  return a.nprobe <= b.nprobe && a.efSearch <= b.efSearch && a.kFactor == b.kFactor && a.subsetSize <= b.subsetSize;
}

}  // namespace

void SearchCost::record(const Tunables& t, int64_t ntotal, int64_t ns) {
  std::lock_guard<std::mutex> lock(mu_);
  Setting* s = nullptr;
  for (Setting& c : settings_)
    if (c.count > 0 && c.tunables == t) s = &c;
  if (!s) {
    s = &settings_[0];
    for (Setting& c : settings_)
      if (c.recorded < s->recorded) s = &c;  // an empty slot was never recorded: 0
    s->tunables = t;
    s->count = s->next = 0;
  } else if (!(ntotal <= 2 * s->ntotal && s->ntotal <= 2 * ntotal)) {
    s->count = s->next = 0;
  }
  s->samples[s->next] = ns;
  s->next = (s->next + 1) % kSamples;
  s->count = std::min(s->count + 1, kSamples);
  s->ntotal = ntotal;
  s->recorded = ++clock_;
}

bool SearchCost::fitsInline(const Tunables& t, int64_t ntotal) const {
  const int64_t budget = inlineBudgetNs();
  if (budget <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const Setting& s : settings_) {
    if (s.count == 0 || !noLarger(t, s.tunables) || ntotal > std::max<int64_t>(2 * s.ntotal, 64)) continue;
    std::array<int64_t, kSamples> sorted = s.samples;
    std::nth_element(sorted.begin(), sorted.begin() + s.count / 2, sorted.begin() + s.count);
    if (sorted[s.count / 2] <= budget) return true;  // the upper median when count is even
  }
  return false;
}

}  // namespace fp
