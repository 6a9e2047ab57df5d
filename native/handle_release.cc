#include "handle_release.h"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "handle_core.h"

namespace fp {
namespace {

class Releaser {
 public:
  // Runs as a shared_ptr deleter, which must not throw: whatever fails here
  // (no thread, no memory for the queue) frees the handle inline instead.
  void release(HandleCore* handle) noexcept {
    try {
      std::lock_guard<std::mutex> l(m_);
      if (!stopping_ && start()) {
        queue_.push_back(handle);
        wake_.notify_one();
        return;
      }
    } catch (...) {
    }
    delete handle;
  }

  // At exit (std::atexit, registered after FAISS's statics were built, so it runs
  // before their destructors): waits for the handle being freed, if any; the
  // process drops the rest with its memory.
  void stopForExit() {
    std::unique_lock<std::mutex> l(m_);
    stopping_ = true;
    idle_.wait(l, [this] { return !busy_; });
  }

 private:
  // Under m_. The thread starts with the first release.
  bool start() {
    if (started_) return true;
    try {
      std::thread([this] { loop(); }).detach();
    } catch (...) {
      return false;
    }
    started_ = true;
    return true;
  }

  void loop() {
    for (;;) {
      std::vector<HandleCore*> batch;
      {
        std::unique_lock<std::mutex> l(m_);
        wake_.wait(l, [this] { return !queue_.empty() && !stopping_; });
        batch.swap(queue_);
        busy_ = true;
      }
      for (auto* handle : batch) delete handle;
      {
        std::lock_guard<std::mutex> l(m_);
        busy_ = false;
      }
      idle_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::vector<HandleCore*> queue_;
  bool started_ = false;
  bool busy_ = false;
  bool stopping_ = false;
};

// Never destroyed: its thread is detached and may be waiting on it at exit.
Releaser& releaser() {
  static Releaser* r = [] {
    auto* created = new Releaser();
    std::atexit([] { releaser().stopForExit(); });
    return created;
  }();
  return *r;
}

}  // namespace

void releaseOffThread(HandleCore* handle) noexcept { releaser().release(handle); }

void prepareRelease() { releaser(); }

}  // namespace fp
