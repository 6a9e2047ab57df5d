#include "search_lanes.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "addon_data.h"
#include "threads.h"

namespace fp {

// Where one environment's finished jobs wait for its JS thread.
struct LaneChannel {
  explicit LaneChannel(Napi::Env e) : env(e), context(e, "faiss-proxy:search") {}

  Napi::Env env;
  Napi::AsyncContext context;
  napi_threadsafe_function tsfn = nullptr;
  int pending = 0;  // JS thread only: submitted and not yet completed

  std::mutex m;
  std::condition_variable idle;
  std::vector<LaneJob*> done;
  int running = 0;      // submitted and not yet in `done`
  bool closed = false;  // the environment is being torn down
};

namespace {

using Clock = std::chrono::steady_clock;

// Measured on the 2-core VM (docs/performance.md): spells of 200 us to 2 ms all beat
// sleeping at once, 1-2 ms the most (HNSW over HTTP at 8 clients).
constexpr int64_t kDefaultSpinNs = 1'000'000;

struct Entry {
  LaneJob* job;
  LaneChannel* channel;
};

std::atomic<uint64_t> jobCount{0};
std::atomic<uint64_t> wakeCount{0};
std::atomic<uint64_t> spinNsTotal{0};

class Lanes {
 public:
  void configure(LaneSettings s) {
    std::lock_guard<std::mutex> l(m_);
    settings_ = s;
    spinNs_.store(s.spinNs, std::memory_order_relaxed);
    cv_.notify_all();  // surplus lanes see it and leave
  }

  LaneSettings settings() {
    std::lock_guard<std::mutex> l(m_);
    return settings_;
  }

  bool submit(Entry e) {
    bool wake;
    {
      std::lock_guard<std::mutex> l(m_);
      if (settings_.threads == 0 || stopping_) return false;
      // Started on first use, so a process that never searches has no lanes.
      while (alive_ < settings_.threads) {
        try {
          std::thread([this] { loop(); }).detach();
        } catch (...) {  // out of threads: run on the lanes there are, or on the pool
          break;
        }
        alive_++;
      }
      if (alive_ == 0) return false;
      q_.push_back(e);
      queued_.store(static_cast<int>(q_.size()), std::memory_order_release);
      // A spinning lane takes the job without help; wake a sleeper only for the
      // jobs the spinners cannot cover.
      wake = sleeping_ > 0 && static_cast<int>(q_.size()) > spinning_;
    }
    if (wake) {
      wakeCount++;
      cv_.notify_one();
    }
    return true;
  }

 private:
  // Under m_.
  bool canTake() const { return !q_.empty() && !stopping_; }
  bool take(Entry& e) {
    e = q_.front();
    q_.pop_front();
    queued_.store(static_cast<int>(q_.size()), std::memory_order_release);
    executing_++;
    return true;
  }

  bool tryTake(Entry& e) {
    std::lock_guard<std::mutex> l(m_);
    return canTake() && take(e);
  }

  // Taking a job and leaving the spinners happen under one lock, so that submit()
  // never counts on a spinner that is already busy.
  bool tryTakeSpinning(Entry& e) {
    std::lock_guard<std::mutex> l(m_);
    if (!canTake()) return false;
    spinning_--;
    return take(e);
  }

  // Waits for the next job; false when this lane is surplus and should leave.
  bool next(Entry& e, int64_t& recentGapNs) {
    const auto idleSince = Clock::now();
    if (tryTake(e)) return true;
    const int64_t spinNs = spinNs_.load(std::memory_order_relaxed);
    if (spinNs > 0 && recentGapNs <= spinNs) {
      {
        std::lock_guard<std::mutex> l(m_);
        spinning_++;
      }
      const auto until = idleSince + std::chrono::nanoseconds(spinNs);
      bool got = false;
      auto now = Clock::now();
      while (now < until) {
        if (queued_.load(std::memory_order_acquire) > 0 && tryTakeSpinning(e)) {
          got = true;
          break;
        }
        sched_yield();
        now = Clock::now();
      }
      if (!got) {
        std::lock_guard<std::mutex> l(m_);
        if (canTake()) {  // arrived as the spell ended
          spinning_--;
          got = take(e);
        } else {
          spinning_--;
        }
      }
      spinNsTotal += std::chrono::duration_cast<std::chrono::nanoseconds>(now - idleSince).count();
      if (got) {
        noteGap(recentGapNs, now - idleSince);
        return true;
      }
    }
    std::unique_lock<std::mutex> l(m_);
    sleeping_++;
    // Once the process is exiting, lanes sleep for good.
    cv_.wait(l, [this] { return !stopping_ && (!q_.empty() || alive_ > settings_.threads); });
    sleeping_--;
    if (q_.empty() || (alive_ > settings_.threads && settings_.threads > 0)) {
      alive_--;
      // A surplus lane may have taken the wake meant for a job: pass it on.
      if (!q_.empty()) cv_.notify_one();
      return false;
    }
    take(e);
    l.unlock();
    noteGap(recentGapNs, Clock::now() - idleSince);
    return true;
  }

  // Exponential average of this lane's waits for work, which decides whether it spins.
  static void noteGap(int64_t& recentGapNs, Clock::duration gap) {
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(gap).count();
    recentGapNs += (ns - recentGapNs) / 4;
  }

  void loop() {
    int64_t recentGapNs = 0;
    Entry e;
    while (next(e, recentGapNs)) {
      jobCount++;
      e.job->execute();
      {
        LaneChannel* c = e.channel;
        std::lock_guard<std::mutex> l(c->m);
        // One call per batch: the drain takes every job finished by then. Made under
        // the channel's lock, since once `running` drops to zero a closing
        // environment may release the function.
        if (c->done.empty()) napi_call_threadsafe_function(c->tsfn, nullptr, napi_tsfn_nonblocking);
        c->done.push_back(e.job);
        if (--c->running == 0 && c->closed) c->idle.notify_all();
      }
      if (executing_.fetch_sub(1) == 1 && stopping_.load()) {
        std::lock_guard<std::mutex> l(m_);
        exited_.notify_all();
      }
    }
  }

 public:
  // The jobs of a closing environment that no lane has started: they never will.
  std::vector<LaneJob*> removeQueued(LaneChannel* c) {
    std::lock_guard<std::mutex> l(m_);
    std::vector<LaneJob*> removed;
    for (auto it = q_.begin(); it != q_.end();) {
      if (it->channel == c) {
        removed.push_back(it->job);
        it = q_.erase(it);
      } else {
        ++it;
      }
    }
    queued_.store(static_cast<int>(q_.size()), std::memory_order_release);
    return removed;
  }

  // process.exit() runs no environment cleanup; it joins libuv's pool, and this
  // does the same for the lanes (at exit): no lane is inside FAISS while static
  // destructors run. Lanes then sleep for good and queued jobs are dropped.
  void stopForExit() {
    std::unique_lock<std::mutex> l(m_);
    stopping_ = true;
    exited_.wait(l, [this] { return executing_ == 0; });
  }

 private:

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Entry> q_;
  LaneSettings settings_{coreCount(), kDefaultSpinNs};
  std::atomic<int64_t> spinNs_{kDefaultSpinNs};
  std::atomic<int> queued_{0};
  int spinning_ = 0;
  int sleeping_ = 0;
  int alive_ = 0;
  std::atomic<int> executing_{0};  // taken under m_, finished without it
  std::atomic<bool> stopping_{false};
  std::condition_variable exited_;
};

// Never destroyed (lanes are detached threads); stopped at exit instead. Registered
// after FAISS's statics are built, so it runs before their destructors.
Lanes& lanes() {
  static Lanes* l = [] {
    auto* created = new Lanes();
    std::atexit([] { lanes().stopForExit(); });
    return created;
  }();
  return *l;
}

void drain(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the environment is gone; its cleanup took the jobs
  auto* c = static_cast<LaneChannel*>(context);
  std::vector<LaneJob*> done;
  {
    std::lock_guard<std::mutex> l(c->m);
    if (c->closed) return;
    done.swap(c->done);
  }
  // Settling (and opening the scopes) can only fail when the environment can no
  // longer run JS, a worker being terminated: the answers are dropped then, and
  // the jobs deleted all the same.
  try {
    Napi::HandleScope scope(c->env);
    Napi::CallbackScope callbackScope(c->env, c->context);
    for (auto* job : done) {
      try {
        job->complete(c->env);
      } catch (...) {
      }
    }
  } catch (...) {
  }
  for (auto* job : done) delete job;
  c->pending -= static_cast<int>(done.size());
  if (c->pending == 0) napi_unref_threadsafe_function(env, c->tsfn);
}

// Runs before the environment goes away: waits for its jobs still on a lane (they
// touch memory the environment keeps alive) and drops their results.
void closeChannel(void* arg) {
  auto* c = static_cast<LaneChannel*>(arg);
  std::vector<LaneJob*> done = lanes().removeQueued(c);
  {
    std::unique_lock<std::mutex> l(c->m);
    c->running -= static_cast<int>(done.size());
    c->closed = true;
    c->idle.wait(l, [c] { return c->running == 0; });
    done.insert(done.end(), c->done.begin(), c->done.end());
    c->done.clear();
  }
  for (auto* job : done) delete job;
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
}

void finalizeChannel(napi_env, void* data, void*) { delete static_cast<LaneChannel*>(data); }

LaneChannel* channelFor(Napi::Env env) {
  AddonData& data = addonData(env);
  if (data.lanes) return data.lanes;
  auto* c = new LaneChannel(env);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "faiss-proxy:search"), 0, 1, c,
                                      finalizeChannel, c, drain, &c->tsfn) != napi_ok) {
    delete c;
    return nullptr;  // searches take the libuv pool
  }
  napi_unref_threadsafe_function(env, c->tsfn);
  // Registered after the thread-safe function, so that it runs before Node closes it.
  napi_add_env_cleanup_hook(env, closeChannel, c);
  data.lanes = c;
  return c;
}

}  // namespace

void setLaneSettings(LaneSettings s) { lanes().configure(s); }
LaneSettings laneSettings() { return lanes().settings(); }

LaneStats laneStats() {
  return {jobCount.load(), wakeCount.load(), static_cast<double>(spinNsTotal.load()) / 1e9};
}

bool submitToLanes(Napi::Env env, LaneJob* job) {
  // Lanes off before this environment's first search: no thread-safe function for it.
  // (Afterwards submit() tells, under the one lock a search takes here.)
  if (addonData(env).lanes == nullptr && laneSettings().threads == 0) return false;
  LaneChannel* c = channelFor(env);
  if (!c) return false;
  {
    std::lock_guard<std::mutex> l(c->m);
    c->running++;
  }
  if (!lanes().submit({job, c})) {
    std::lock_guard<std::mutex> l(c->m);
    c->running--;
    return false;
  }
  if (c->pending++ == 0) napi_ref_threadsafe_function(env, c->tsfn);
  return true;
}

}  // namespace fp
