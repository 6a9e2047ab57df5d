// Search lanes: threads of the addon's own that run searches instead of the libuv pool.
//
// Why: a libuv worker sleeps as soon as its queue is empty, and handing it the next
// search wakes it through a futex, which in a VM costs the JS thread tens of
// microseconds (an IPI to a halted vCPU); the answer then wakes the JS thread the
// same way. A server handing off one-query searches pays that on nearly every request
// (docs/performance.md, "Proxy overhead"). A lane that has just finished a search
// first yields its core for a while (sched_yield, so it gives way to any runnable
// thread) before it sleeps, and the next search finds it awake. The spell is
// adaptive: a lane whose recent waits for work were longer than the spell does not
// spin at all, so a quiet process does not burn CPU. Finished searches go back to
// the JS thread in batches, through one thread-safe function per environment.
//
// Long operations (add, train, serialize...) stay on the libuv pool, so they no
// longer delay searches queued behind them.
#pragma once

#include <napi.h>

#include <cstdint>

namespace fp {

// A unit of work: execute() runs on a lane, complete() on the JS thread of the
// environment that submitted it (inside a callback scope, so promise reactions run
// after it), after which the job is deleted. A job whose environment is torn down
// before it completes is deleted without complete().
class LaneJob {
 public:
  virtual ~LaneJob() = default;
  virtual void execute() = 0;
  virtual void complete(Napi::Env env) = 0;
};

struct LaneSettings {
  int threads;       // 0: searches go to the libuv pool, as every other operation
  int64_t spinNs;    // longest spell a lane stays awake for work after its last job
};

// Threads grow at once; surplus lanes leave when next idle.
void setLaneSettings(LaneSettings s);
LaneSettings laneSettings();

// False when the lanes are off (threads = 0); the caller then queues on the pool.
bool submitToLanes(Napi::Env env, LaneJob* job);

struct LaneStats {
  uint64_t jobs;
  uint64_t wakes;   // jobs that had to wake a sleeping lane
  double spinSeconds;
};
LaneStats laneStats();

// Per-environment state (addon_data.h), freed with its thread-safe function.
struct LaneChannel;

}  // namespace fp
