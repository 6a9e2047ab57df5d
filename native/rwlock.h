// A reader-writer lock that prefers writers. Searches share an index; add, remove,
// train and reset take it alone. glibc's default rwlock prefers readers, which lets
// a steady stream of searches starve an add forever; this one does not.
#pragma once

#include <pthread.h>

namespace fp {

class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void lockShared() { pthread_rwlock_rdlock(&lock_); }
  // Fails at once if a writer holds the lock or (writers being preferred) waits for it.
  bool tryLockShared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void lockExclusive() { pthread_rwlock_wrlock(&lock_); }
  // Fails at once if anyone holds the lock.
  bool tryLockExclusive() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

class SharedGuard {
 public:
  enum Adopt { kAdopt };
  explicit SharedGuard(RwLock& l) : l_(l) { l_.lockShared(); }
  // Takes over a shared lock already acquired (tryLockShared).
  SharedGuard(RwLock& l, Adopt) : l_(l) {}
  ~SharedGuard() { l_.unlock(); }
 private:
  RwLock& l_;
};

class ExclusiveGuard {
 public:
  enum Adopt { kAdopt };
  explicit ExclusiveGuard(RwLock& l) : l_(l) { l_.lockExclusive(); }
  // Takes over an exclusive lock already acquired (tryLockExclusive).
  ExclusiveGuard(RwLock& l, Adopt) : l_(l) {}
  ~ExclusiveGuard() { l_.unlock(); }
 private:
  RwLock& l_;
};

}  // namespace fp
