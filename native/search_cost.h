// What a one-query search on an index has cost lately, so that the JS thread can
// tell a search cheap enough to run in place (workers/search_inline.cc) from one that must
// go to a search lane (or the libuv pool). Learned from the index's own searches, wherever they ran:
// a cost model from the index type and its parameters would be a guess, and a
// wrong guess here blocks the event loop.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "tunables.h"

namespace fp {

// How long (ns) one search may run on the JS thread; 0 turns inline searches off.
void setInlineBudgetNs(int64_t ns);
int64_t inlineBudgetNs();

class SearchCost {
 public:
  // A one-query search with settings `t` on an index of `ntotal` vectors took `ns`.
  void record(const Tunables& t, int64_t ntotal, int64_t ns);
  // Whether a one-query search with settings `t` on `ntotal` vectors is expected to
  // fit the inline budget. False when nothing comparable is known: other settings,
  // or an index that has more than doubled since (a flat index's cost grows with it).
  bool fitsInline(const Tunables& t, int64_t ntotal) const;

 private:
  // The estimate is the median of the last few samples: a search preempted by
  // another process, or run on a just-woken pool worker, should not close the door,
  // nor one lucky sample open it.
  static constexpr size_t kSamples = 8;

  mutable std::mutex mu_;
  Tunables tunables_;
  int64_t ntotal_ = 0;
  std::array<int64_t, kSamples> samples_{};
  size_t count_ = 0;  // samples since the settings or the size last changed (capped at kSamples)
  size_t next_ = 0;   // where the next sample goes
};

}  // namespace fp
