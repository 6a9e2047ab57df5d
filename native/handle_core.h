// What every index handle shares, whatever kind of FAISS index it holds (a float
// faiss::Index: index_handle.h; a faiss::IndexBinary: binary_index_handle.h): the
// reader-writer lock, the values the JS thread reads without it, and the tunables.
// Workers hold a shared_ptr to the handle, so dispose() from JS never frees an
// index under a running operation (handle_release.h frees it off the JS thread).
#pragma once

#include <faiss/Clustering.h>
#include <faiss/impl/HNSW.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "rwlock.h"
#include "tunables.h"

namespace fp {

class HandleCore {
 public:
  virtual ~HandleCore() = default;
  HandleCore(const HandleCore&) = delete;
  HandleCore& operator=(const HandleCore&) = delete;

  // Loaded memory-mapped; FAISS would abort the process on a write.
  bool readOnly() const { return readOnly_; }
  RwLock& lock() { return lock_; }

  // Values readable from the JS thread at any time without taking the lock;
  // refreshed after every operation that can change them.
  int64_t ntotal() const { return ntotal_.load(); }
  bool isTrained() const { return isTrained_.load(); }
  int64_t bytes() const { return bytes_.load(); }
  int64_t version() const { return version_.load(); }

  // Tunables live here, not in the FAISS object, so that setting one from JS never
  // races a search reading it: searches get them per call, and they are copied
  // into the FAISS object under the exclusive lock (applyTunables) before anything
  // that persists or uses them (add, serialize).
  bool hasIvf() const { return nprobeField_ != nullptr; }
  // The IVF's number of inverted lists (fixed once the index is made), or 0: none, or not known (a GPU IVF).
  int64_t nlist() const { return nlist_; }
  bool hasHnsw() const { return hnsw_ != nullptr; }
  int nprobe() const { return nprobe_.load(); }
  int efSearch() const { return efSearch_.load(); }
  int efConstruction() const { return efConstruction_.load(); }
  void setNprobe(int v) { nprobe_.store(v); }
  void setEfSearch(int v) { efSearch_.store(v); }
  void setEfConstruction(int v) { efConstruction_.store(v); }
  // The seed of an IVF index's k-means in train (Python's `index.cp.seed`; FAISS's
  // ClusteringParameters, 1234 by default). Like efConstruction it is copied into
  // the FAISS object by applyTunables, which train runs first. FAISS's file format
  // has no place for it: a loaded index has FAISS's default again.
  bool hasClustering() const { return clustering_ != nullptr; }
  int kmeansSeed() const { return kmeansSeed_.load(); }
  void setKmeansSeed(int v) { kmeansSeed_.store(v); }
  // Before an add, with the exclusive lock held: the graph's level generator
  // (graph_adds.h) put where a graph of its size draws next, and the graph
  // returned (null: the index has none).
  faiss::HNSW* graphForAdd();
  // After the add: the generator is where a graph of the new size draws next.
  void graphAdded();
  virtual Tunables effective(const Tunables& overrides) const;

  // Call with the exclusive lock held.
  virtual void applyTunables();

  // Runs fn under the shared lock with the search settings of `t` in force in the
  // FAISS object's own fields, where FAISS 1.7.3 reads them rather than from
  // SearchParameters: HNSW sizes its candidate queue from the index's efSearch
  // field even when SearchParametersHNSW gives another one, and the binary indexes
  // refuse search parameters altogether (their nprobe too is the field's). A
  // per-call value is written into the field under the exclusive lock, so that the
  // search behaves as Python's `index.hnsw.efSearch = ...` does. Searches wanting
  // the same values still run in parallel; differing values take turns. The
  // fields a subclass keeps besides (searchFieldsCurrent) are written the same way.
  template <typename F>
  void searchShared(const Tunables& t, F&& fn) {
    for (;;) {
      {
        SharedGuard guard(lock_);
        if (fieldsHold(t) && searchFieldsCurrent()) {
          fn();
          return;
        }
      }
      ExclusiveGuard guard(lock_);
      writeFields(t);
      writeSearchFields();
    }
  }
  // As searchShared, for the JS thread, which must never wait: runs fn and returns
  // true only if the shared lock is free now (no writer holding or waiting for it)
  // and the fields have the values `t` wants, written first when they hold another
  // search's and nobody holds the lock at all (a collection alternating a filtered
  // search at a raised efSearch with unfiltered ones would otherwise send every
  // search that changes it to a search lane).
  template <typename F>
  bool trySearchShared(const Tunables& t, F&& fn) {
    if (!lock_.tryLockShared()) return false;
    {
      SharedGuard guard(lock_, SharedGuard::kAdopt);
      if (fieldsHold(t) && searchFieldsCurrent()) {
        fn();
        return true;
      }
    }
    if (!lock_.tryLockExclusive()) return false;
    {
      ExclusiveGuard guard(lock_, ExclusiveGuard::kAdopt);
      writeFields(t);
      writeSearchFields();
    }
    if (!lock_.tryLockShared()) return false;
    SharedGuard guard(lock_, SharedGuard::kAdopt);
    if (!fieldsHold(t) || !searchFieldsCurrent()) return false;
    fn();
    return true;
  }

 protected:
  // `hnsw`: the HNSW graph searches and adds use, if any. `nprobeField`: an IVF
  // index's nprobe, if any; `nprobeInField`: searches read it from there (binary
  // IVF) rather than from SearchParametersIVF (float IVF). `clustering`: the
  // clustering parameters of the IVF index train trains, if any. `nlist`: the IVF's lists, 0 if none.
  HandleCore(bool readOnly, faiss::HNSW* hnsw, size_t* nprobeField, bool nprobeInField,
             faiss::ClusteringParameters* clustering, int64_t nlist);
  // Call with the lock held (shared or exclusive); `mutated` bumps the version.
  void record(int64_t ntotal, bool trained, int64_t bytes, bool mutated);
  // Whether the FAISS objects hold the other values a search reads from them
  // (IndexHandle: METRIC_Lp's p, a refine's k_factor); call with the lock held.
  virtual bool searchFieldsCurrent() const { return true; }
  // Writes them; call with the exclusive lock held.
  virtual void writeSearchFields() {}

 private:
  // Call with the lock held: the efSearch and nprobe fields searches read have
  // the values of `t`.
  bool fieldsHold(const Tunables& t) const {
    return (!hnsw_ || hnsw_->efSearch == t.efSearch) &&
           (!nprobeInField_ || *nprobeField_ == static_cast<size_t>(t.nprobe));
  }
  void writeFields(const Tunables& t);

  const bool readOnly_;
  RwLock lock_;
  faiss::HNSW* const hnsw_;
  size_t* const nprobeField_;
  const bool nprobeInField_;
  faiss::ClusteringParameters* const clustering_;
  const int64_t nlist_;
  std::atomic<int64_t> ntotal_{0};
  std::atomic<bool> isTrained_{false};
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> version_{0};
  std::atomic<int> nprobe_{-1};
  std::atomic<int> efSearch_{-1};
  std::atomic<int> efConstruction_{-1};
  std::atomic<int> kmeansSeed_{0};
  // The graph's size when graphForAdd last put its generator in place (the
  // generator has drawn one level per vertex since, so it is still in place
  // while the size matches); SIZE_MAX: never, as for a graph just read from a file.
  size_t levelsPlaced_ = SIZE_MAX;
};

}  // namespace fp
