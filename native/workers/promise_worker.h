// Base for every asynchronous FAISS operation, after sharp's batons: arguments are
// converted to plain C++ values on the JS thread before the work is queued, Run()
// executes on the libuv pool (searches: on the search lanes, search_lanes.h)
// touching no JS value, and the promise settles on the JS thread. JS objects whose
// memory Run() reads or writes are kept referenced (Keep) until the work ends, so
// GC cannot free them mid-operation.
#pragma once

#include <napi.h>

#include <chrono>
#include <memory>
#include <string>

#include "../errors.h"
#include "../index.h"
#include "../memory_limits.h"
#include "../search_lanes.h"
#include "../search_memory.h"
#include "../threads.h"

namespace fp {

class PromiseWorker : public Napi::AsyncWorker, public LaneJob {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name),
        name_(name),
        deferred_(Napi::Promise::Deferred::New(env)),
        kept_(Napi::Persistent(Napi::Object::New(env))) {}

  // Queues the work and hands its promise to JS.
  Napi::Value Start() {
    auto promise = deferred_.Promise();
    Queue();
    return promise;
  }

  // For searches: runs the work on the search lanes (search_lanes.h), or on the
  // libuv pool when they are off.
  Napi::Value StartOnLanes() {
    auto promise = deferred_.Promise();
    if (!submitToLanes(Env(), this)) Queue();
    return promise;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  virtual void BeforeSettle(Napi::Env) {}

  // Returns a slot to read the value back with Kept() (napi_value handles do not
  // outlive the scope they were made in; the receiver's properties do).
  uint32_t Keep(const Napi::Value& v) {
    kept_.Set(keepCount_, v);
    return keepCount_++;
  }
  Napi::Value Kept(uint32_t slot) { return kept_.Get(slot); }

 private:
  void Execute() final {
    recordQueueWait(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - queuedAt_).count());
    try {
      Run();
    } catch (...) {
      error_ = classifyCurrentException(name_);
      failed_ = true;
      SetError(error_.message);
    }
  }

  void execute() final { Execute(); }
  void complete(Napi::Env) final {
    if (failed_) OnError(Napi::Error());
    else OnOK();
  }

  void OnOK() final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    BeforeSettle(env);
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(makeError(env, classifyCurrentException(name_)).Value());
    }
  }

  void OnError(const Napi::Error&) final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    BeforeSettle(env);
    deferred_.Reject(makeError(env, error_).Value());
  }

  const char* name_;
  const std::chrono::steady_clock::time_point queuedAt_ = std::chrono::steady_clock::now();
  Napi::Promise::Deferred deferred_;
  ErrorInfo error_;
  bool failed_ = false;
  Napi::ObjectReference kept_;  // holds every Keep()-ed value alive
  uint32_t keepCount_ = 0;
};

// A PromiseWorker bound to one index of a wrapper class `Wrap` (IndexWrap,
// BinaryIndexWrap): holds the handle alive, keeps the JS wrapper referenced, and
// reports the index's new size to V8 when the work ends.
template <typename Wrap>
class WrapWorker : public PromiseWorker {
 public:
  using Handle = typename Wrap::Handle;

  WrapWorker(Napi::Env env, const char* name, Wrap& wrap)
      : PromiseWorker(env, name), wrap_(wrap), handle_(wrap.handle()) {
    Keep(wrap.Value());
  }

 protected:
  Handle& handle() { return *handle_; }
  // For operations that change the index: a memory-mapped one cannot change.
  void requireWritable() {
    if (handle_->readOnly())
      throw ArgumentError(code::kUnsupported,
                          "This index was opened memory-mapped, which is read-only; read it without mmap to change it");
  }
  // For adds to an HNSW index: each thread explores the graph with a candidate
  // list of efConstruction and a visited table, allocated on FAISS's OpenMP
  // threads (see requireAllocatable), so adding n more is refused up front when
  // that passes the limits.
  void requireHnswAddMemory(int64_t n) {
    if (!handle_->hasHnsw()) return;
    const int64_t explore = hnswExploreBytes(handle_->ntotal() + n, handle_->efConstruction(), configuredThreads());
    requireWithinLimit("add", explore, "HNSW candidate lists of efConstruction " + std::to_string(handle_->efConstruction()));
    requireAllocatable("add", explore);
  }
  auto& index() { return *handle_->index(); }
  int64_t d() const { return handle_->index()->d; }

 private:
  void BeforeSettle(Napi::Env env) final { wrap_.syncExternalMemory(env); }

  Wrap& wrap_;
  std::shared_ptr<Handle> handle_;
};

class IndexWorker : public WrapWorker<IndexWrap> {
 public:
  using WrapWorker::WrapWorker;
};

// Starts a worker built from JS arguments; argument errors become a rejected
// promise rather than a synchronous throw, so callers handle one failure path.
template <typename Worker, bool OnLanes = false, typename... Args>
Napi::Value startWorker(Napi::Env env, Args&&... args) {
  Worker* worker = nullptr;
  try {
    worker = new Worker(env, std::forward<Args>(args)...);
  } catch (const Napi::Error& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  } catch (...) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, classifyCurrentException("arguments")).Value());
    return d.Promise();
  }
  return OnLanes ? worker->StartOnLanes() : worker->Start();
}

}  // namespace fp
