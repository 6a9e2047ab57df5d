// Arguments shared by search and rangeSearch, and the k-NN search call itself,
// which runs the same way on a pool worker (search.cc) and on the JS thread
// (search_inline.cc).
#pragma once

#include <napi.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "../args.h"
#include "../index_handle.h"
#include "../memory_limits.h"
#include "../search_dispatch.h"
#include "../search_memory.h"
#include "../selector.h"
#include "../selector_support.h"
#include "../threads.h"

namespace fp {

// Per-call tunables: (…, nprobe?, efSearch?).
inline Tunables tunablesArg(const Napi::Value& nprobe, const Napi::Value& efSearch, const HandleCore& h,
                            const std::string& typeName) {
  Tunables t;
  if (!nprobe.IsUndefined() && !nprobe.IsNull()) {
    if (!h.hasIvf()) throw ArgumentError(code::kUnsupported, typeName + " has no nprobe (only IVF indexes do)");
    t.nprobe = static_cast<int>(integerArg(nprobe, "nprobe", 1, 1 << 30));
  }
  if (!efSearch.IsUndefined() && !efSearch.IsNull()) {
    if (!h.hasHnsw()) throw ArgumentError(code::kUnsupported, typeName + " has no efSearch (only HNSW indexes do)");
    t.efSearch = static_cast<int>(integerArg(efSearch, "efSearch", 1, 1 << 30));
  }
  return t;
}

// A k-NN search's arguments, (x, k, nprobe?, efSearch?, sel?), checked on the JS thread,
// and what the search would allocate checked against the per-call memory limit
// before the result arrays are allocated.
struct SearchCall {
  // Upper bound on k per query (as Python's; FAISS's heaps take any k, the
  // memory limit bounds nq * k).
  static constexpr int64_t kMaxK = 1 << 20;

  SearchCall(const Napi::CallbackInfo& info, const IndexHandle& h, const std::string& typeName) {
    x = floatRows(info[0], h.index()->d, "x");
    k = integerArg(info[1], "k", 1, kMaxK);
    tunables = tunablesArg(info[2], info[3], h, typeName);
    selector = optionalSelectorArg(info[4], "sel");
    if (selector) requireSelectorSupport(*h.index(), false);
    const SearchMemory memory = knnSearchMemory(*h.index(), x.n, k, h.effective(tunables),
                                                static_cast<int>(std::min<int64_t>(configuredThreads(), x.n)));
    // Described only when refused: the figures' formatting (snprintf) cost more
    // than the rest of a small search's argument handling (bench:search-overhead).
    if (memory.total() > perCallBytes()) requireWithinLimit("search", memory.total(), memory.describe());
    requireAllocatable("search", memory.temporary);
  }

  int64_t results() const { return x.n * k; }

  // Runs FAISS's search into the given result arrays, with the settings `t`
  // (the call's, completed by the index's own). `locked` runs its argument under
  // the index's shared lock: searchShared, or trySearchShared, which may decline
  // (then it returns false and nothing ran). A one-query search that ran is timed
  // for the index's SearchCost (filtered or not). `completeShort`: searchIndex's.
  template <typename Locked>
  bool run(IndexHandle& h, const Tunables& t, float* distances, int64_t* labels, Locked&& locked,
           bool completeShort = true) const {
    requireFinite(x.data, x.n * h.index()->d, h.index()->d, "x");
    const auto started = std::chrono::steady_clock::now();
    int64_t ntotal = 0;
    const bool ran = locked([&] {
      searchIndex(*h.index(), t, x.n, x.data, k, distances, labels, h.flatNorms(), h.version(),
                  selector ? &selector->faiss() : nullptr, completeShort);
      ntotal = h.index()->ntotal;
    });
    if (ran && x.n == 1) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
      (selector ? h.filteredSearchCost() : h.searchCost()).record(t, ntotal, ns.count());
    }
    return ran;
  }

  FloatRows x;
  int64_t k = 0;
  Tunables tunables;
  SelectorRef selector;  // held for the search: the JS selector may be collected meanwhile
};

}  // namespace fp
