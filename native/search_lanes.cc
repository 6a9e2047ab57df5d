#include "search_lanes.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
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
      if (settings_.threads == 0) return false;
      // Started on first use, so a process that never searches has no lanes.
      while (alive_ < settings_.threads) {
        alive_++;
        std::thread([this] { loop(); }).detach();
      }
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
  bool take(Entry& e) {
    e = q_.front();
    q_.pop_front();
    queued_.store(static_cast<int>(q_.size()), std::memory_order_release);
    return true;
  }

  bool tryTake(Entry& e) {
    std::lock_guard<std::mutex> l(m_);
    return !q_.empty() && take(e);
  }

  // Taking a job and leaving the spinners happen under one lock, so that submit()
  // never counts on a spinner that is already busy.
  bool tryTakeSpinning(Entry& e) {
    std::lock_guard<std::mutex> l(m_);
    if (q_.empty()) return false;
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
        if (!q_.empty()) {  // arrived as the spell ended
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
    cv_.wait(l, [this] { return !q_.empty() || alive_ > settings_.threads; });
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
      LaneChannel* c = e.channel;
      std::lock_guard<std::mutex> l(c->m);
      // One call per batch: the drain takes every job finished by then. Made under
      // the channel's lock, since once `running` drops to zero a closing
      // environment may release the function.
      if (c->done.empty()) napi_call_threadsafe_function(c->tsfn, nullptr, napi_tsfn_nonblocking);
      c->done.push_back(e.job);
      if (--c->running == 0 && c->closed) c->idle.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Entry> q_;
  LaneSettings settings_{coreCount(), kDefaultSpinNs};
  std::atomic<int64_t> spinNs_{kDefaultSpinNs};
  std::atomic<int> queued_{0};
  int spinning_ = 0;
  int sleeping_ = 0;
  int alive_ = 0;
};

// Never destroyed: lanes may still be running when static destructors run at exit.
Lanes& lanes() {
  static Lanes* l = new Lanes();
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
  {
    Napi::HandleScope scope(c->env);
    Napi::CallbackScope callbackScope(c->env, c->context);
    for (auto* job : done) {
      job->complete(c->env);
      delete job;
    }
  }
  c->pending -= static_cast<int>(done.size());
  if (c->pending == 0) napi_unref_threadsafe_function(env, c->tsfn);
}

// Runs before the environment goes away: waits for its jobs still on a lane (they
// touch memory the environment keeps alive) and drops their results.
void closeChannel(void* arg) {
  auto* c = static_cast<LaneChannel*>(arg);
  std::vector<LaneJob*> done;
  {
    std::unique_lock<std::mutex> l(c->m);
    c->closed = true;
    c->idle.wait(l, [c] { return c->running == 0; });
    done.swap(c->done);
  }
  for (auto* job : done) delete job;
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
}

void finalizeChannel(napi_env, void* data, void*) { delete static_cast<LaneChannel*>(data); }

LaneChannel* channelFor(Napi::Env env) {
  AddonData& data = addonData(env);
  if (data.lanes) return data.lanes;
  auto* c = new LaneChannel(env);
  NAPI_THROW_IF_FAILED(env,
                       napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "faiss-proxy:search"),
                                                       0, 1, c, finalizeChannel, c, drain, &c->tsfn),
                       nullptr);
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
  LaneChannel* c = channelFor(env);
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
