// A k-NN search run on the JS thread, for searches so cheap that a search lane's (or the libuv pool's)
// round trip would cost more than the search: on this 2-core machine a one-query
// HNSW search takes ~0.1 ms on a pool worker plus ~0.03 ms to get there and back,
// against ~0.07 ms in place (what Python, which calls FAISS on its own thread, pays).
//
// It runs only when it cannot hurt the event loop: one query, an index whose recent
// one-query searches with the same settings fit the inline budget (search_cost.h),
// and the index's lock free at once. Otherwise it returns undefined and the caller
// queues the search as usual. A filtered search is measured apart from unfiltered
// ones (its walk or its lists are the unfiltered search's, its distances fewer),
// and one whose answer comes back short is not completed here, a scan of the
// selection (short_answers.h): it declines, and the queued search completes it. lib/inline-search.ts allows one inline search per
// event-loop turn, so a loop of them still lets I/O and timers run between searches.
#include <algorithm>

#include "../device_index.h"
#include "../errors.h"
#include "../index.h"
#include "../search_cost.h"
#include "../threads.h"
#include "search_args.h"
#include "search_result.h"
#include "workers.h"

namespace fp {

Napi::Value searchInline(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Off (the service's default): decline before parsing the arguments, which the
  // pooled search then parses.
  if (inlineBudgetNs() <= 0) return env.Undefined();
  try {
    auto handle = wrap.handle();
    SearchCall call(info, *handle, wrap.typeName());
    const Tunables t = handle->effective(call.tunables);
    // A GPU index's search waits for its device's lock (gpu_index.h), which the JS thread must not.
    if (dynamic_cast<const DeviceIndex*>(handle->index())) return env.Undefined();
    const SearchCost& cost = call.selector ? handle->filteredSearchCost() : handle->searchCost();
    if (call.x.n != 1 || !cost.fitsInline(t, handle->ntotal())) return env.Undefined();

    SearchResultArrays results(call.results());
    ThreadScope threads(1, 1);
    const bool ran = call.run(
        *handle, t, results.distances(), results.labels(), [&](auto&& search) { return handle->trySearchShared(t, search); },
        /*completeShort=*/false);
    if (!ran) return env.Undefined();
    if (call.selector && std::any_of(results.labels(), results.labels() + call.k, [](int64_t l) { return l < 0; }))
      return env.Undefined();
    recordInlineSearch();
    return results.release(env);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeError(env, classifyCurrentException("search"));
  }
}

}  // namespace fp
