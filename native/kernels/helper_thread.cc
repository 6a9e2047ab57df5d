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

// The job: (generation << 32) | (chunks << 16) | next chunk, in one word, so that
// a chunk is claimed by one compare-and-swap and a claim on a finished job fails.
constexpr uint64_t kField = 0xFFFF;
size_t nextOf(uint64_t w) { return static_cast<size_t>(w & kField); }
size_t chunksOf(uint64_t w) { return static_cast<size_t>((w >> 16) & kField); }
bool open(uint64_t w) { return nextOf(w) < chunksOf(w); }

struct Helper {
  std::atomic<uint64_t> word{0};
  // Chunks the helper has claimed, or is claiming, and not finished: the caller
  // returns only once this is 0 after every chunk is claimed. Raised before the
  // claim, so that a claim the caller cannot see yet still holds it back.
  std::atomic<int> busy{0};
  // The job's work; written before its word is published, read after a claim.
  void (*work)(void*, size_t) = nullptr;
  void* context = nullptr;

  std::mutex caller;  // one job at a time
  std::mutex sleepMutex;
  std::condition_variable wake;
  std::atomic<bool> sleeping{false};
};

bool claim(std::atomic<uint64_t>& word, size_t* chunk) {
  uint64_t w = word.load();
  while (open(w)) {
    if (word.compare_exchange_weak(w, w + 1)) {
      *chunk = nextOf(w);
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
  while (claim(h.word, &chunk)) {
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

void runChunks(size_t chunks, bool share, void (*work)(void* context, size_t chunk), void* context) {
  Helper* h = share && chunks > 1 && chunks <= kField ? helper() : nullptr;
  std::unique_lock<std::mutex> turn;
  if (h) turn = std::unique_lock<std::mutex>(h->caller, std::try_to_lock);
  if (!h || !turn.owns_lock()) {
    for (size_t i = 0; i < chunks; i++) work(context, i);
    return;
  }
  h->work = work;
  h->context = context;
  const uint64_t generation = (h->word.load() >> 32) + 1;
  h->word.store((generation << 32) | (static_cast<uint64_t>(chunks) << 16));
  if (h->sleeping.load()) {
    std::lock_guard<std::mutex> lock(h->sleepMutex);
    h->wake.notify_one();
  }
  size_t chunk;
  while (claim(h->word, &chunk)) work(context, chunk);
  while (h->busy.load() != 0) __builtin_ia32_pause();
}

}  // namespace fp
