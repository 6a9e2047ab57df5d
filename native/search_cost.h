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
  // fit the inline budget: recent searches with the same settings, or with a larger
  // nprobe / efSearch (a search costs more with either), fit it. False when nothing
  // comparable is known: larger settings than any timed, or an index that has more
  // than doubled since (a flat index's cost grows with it).
  bool fitsInline(const Tunables& t, int64_t ntotal) const;

 private:
  // The estimate is the median of the last few samples: a search preempted by
  // another process, or run on a just-woken pool worker, should not close the door,
  // nor one lucky sample open it.
  static constexpr size_t kSamples = 8;
  // Settings remembered apart, the least recently timed replaced first: a caller
  // alternating between a few (a collection's unfiltered searches and its filtered
  // ones at a raised efSearch, over-fetches asking 2k / share for each filter's
  // share) keeps the timing of each.
  static constexpr size_t kSettings = 8;

  struct Setting {
    Tunables tunables;
    int64_t ntotal = 0;
    std::array<int64_t, kSamples> samples{};
    size_t count = 0;      // samples since the size last changed (capped at kSamples); 0: an empty slot
    size_t next = 0;       // where the next sample goes
    uint64_t recorded = 0;  // when last timed (a counter)
  };

  mutable std::mutex mu_;
  std::array<Setting, kSettings> settings_{};
  uint64_t clock_ = 0;
};

}  // namespace fp
