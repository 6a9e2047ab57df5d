#include "helper_thread.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>

namespace fp {
namespace {

// How long the helper waits, awake, for the next job after its last chunk: a
// burst of one-query searches (a loop of `await index.search`, one per event-loop
// turn) comes every few microseconds, well inside it; a lone query pays at most
// this much of the other core.
constexpr auto kSpin = std::chrono::microseconds(100);
// Signs that the other core is busy with other processes' work: the helper took
// no chunk of a job (it did not get a core in time), or the caller waited this
// long for the helper's last chunk (a few microseconds of work: the OS took the
// helper off its core). Then searches run alone for kPause rather than wait on
// the helper again: on this 2-core VM with 10-20 runnable processes, sharing
// regardless made one IVF query's median 10-25% slower than alone, its 90th
// percentile up to 2-10x (bench/RESULTS.md, bench:kernel-ivf).
constexpr auto kStall = std::chrono::microseconds(25);
constexpr auto kPause = std::chrono::milliseconds(50);

// The job: (generation << 32) | (end << 16) | front, in one word: chunks [front,
// end) are unclaimed. The caller claims the front one, the helper the last one,
// each by one compare-and-swap, and a claim on a finished job fails.
constexpr uint64_t kField = 0xFFFF;
size_t frontOf(uint64_t w) { return static_cast<size_t>(w & kField); }
size_t endOf(uint64_t w) { return static_cast<size_t>((w >> 16) & kField); }
bool open(uint64_t w) { return frontOf(w) < endOf(w); }

struct Helper {
  std::atomic<uint64_t> word{0};
  // Chunks the helper has claimed, or is claiming, and not finished: the caller
  // returns only once this is 0 after every chunk is claimed. Raised before the
  // claim, so that a claim the caller cannot see yet still holds it back.
  std::atomic<int> busy{0};
  // The job's work; written before its word is published, read after a claim.
  void (*work)(void*, size_t) = nullptr;  // the back's
  void* context = nullptr;

  std::mutex caller;  // one job at a time
  std::atomic<int64_t> pausedUntil{0};  // steady_clock nanoseconds: no sharing before
  std::mutex sleepMutex;
  std::condition_variable wake;
  std::atomic<bool> sleeping{false};
};

bool claimFront(std::atomic<uint64_t>& word, size_t* chunk) {
  uint64_t w = word.load();
  while (open(w)) {
    if (word.compare_exchange_weak(w, w + 1)) {
      *chunk = frontOf(w);
      return true;
    }
  }
  return false;
}

bool claimBack(std::atomic<uint64_t>& word, size_t* chunk) {
  uint64_t w = word.load();
  while (open(w)) {
    if (word.compare_exchange_weak(w, w - (uint64_t{1} << 16))) {
      *chunk = endOf(w) - 1;
      return true;
    }
  }
  return false;
}

// Every chunk of the current job the helper can claim; whether it did any.
bool helpWithJob(Helper& h) {
  bool did = false;
  h.busy.fetch_add(1);
  size_t chunk;
  while (claimBack(h.word, &chunk)) {
    h.work(h.context, chunk);
    did = true;
  }
  h.busy.fetch_sub(1);
  return did;
}

[[noreturn]] void helperMain(Helper& h) {
  for (;;) {
    auto until = std::chrono::steady_clock::now() + kSpin;
    for (unsigned spins = 0;; spins++) {
      if (open(h.word.load(std::memory_order_relaxed)) && helpWithJob(h)) {
        until = std::chrono::steady_clock::now() + kSpin;
        continue;
      }
      __builtin_ia32_pause();
      if (spins % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
    }
    std::unique_lock<std::mutex> lock(h.sleepMutex);
    h.sleeping.store(true);
    h.wake.wait(lock, [&] { return open(h.word.load()); });
    h.sleeping.store(false);
  }
}

// The helper, started on first use; null where no thread could be started (then
// every job runs on its caller). Never destroyed: it sleeps through exit.
Helper* helper() {
  static Helper* const h = []() -> Helper* {
    auto* candidate = new Helper;
    try {
      std::thread t(helperMain, std::ref(*candidate));
      pthread_setname_np(t.native_handle(), "faiss-kernel-2");
      t.detach();
      return candidate;
    } catch (const std::system_error&) {
      delete candidate;
      return nullptr;
    }
  }();
  return h;
}

}  // namespace

size_t runChunks(size_t chunks, bool share, void (*front)(void* context, size_t chunk),
                 void (*back)(void* context, size_t chunk), void* context) {
  using Clock = std::chrono::steady_clock;
  Helper* h = share && chunks > 1 && chunks <= kField ? helper() : nullptr;
  if (h && Clock::now().time_since_epoch().count() < h->pausedUntil.load(std::memory_order_relaxed)) h = nullptr;
  std::unique_lock<std::mutex> turn;
  if (h) turn = std::unique_lock<std::mutex>(h->caller, std::try_to_lock);
  if (!h || !turn.owns_lock()) {
    for (size_t i = 0; i < chunks; i++) front(context, i);
    return chunks;
  }
  h->work = back;
  h->context = context;
  const uint64_t generation = (h->word.load() >> 32) + 1;
  h->word.store((generation << 32) | (static_cast<uint64_t>(chunks) << 16));
  if (h->sleeping.load()) {
    std::lock_guard<std::mutex> lock(h->sleepMutex);
    h->wake.notify_one();
  }
  size_t chunk, taken = 0;
  while (claimFront(h->word, &chunk)) {
    front(context, chunk);
    taken = chunk + 1;
  }
  bool busyElsewhere = taken == chunks;
  if (h->busy.load() != 0) {
    const auto since = Clock::now();
    while (h->busy.load() != 0) __builtin_ia32_pause();
    busyElsewhere = busyElsewhere || Clock::now() - since > kStall;
  }
  if (busyElsewhere)
    h->pausedUntil.store(std::chrono::duration_cast<std::chrono::nanoseconds>((Clock::now() + kPause).time_since_epoch()).count(),
                         std::memory_order_relaxed);
  return taken;
}

}  // namespace fp
