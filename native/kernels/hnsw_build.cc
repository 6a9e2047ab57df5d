#include "hnsw_build.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/HNSW.h>
#include <faiss/utils/random.h>
#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <mutex>
#include <typeinfo>
#include <vector>

#include "../memory_limits.h"
#include "exact_distances.h"
#include "hnsw_distances.h"
#include "hnsw_build_profile.h"
#include "huge_pages.h"
#include "stats.h"
#include "switches.h"

namespace fp {
namespace {

using storage_idx_t = faiss::HNSW::storage_idx_t;
// FAISS's two queue entries: in a std::priority_queue of Closer the top is the
// farthest, of Farther the nearest.
using Closer = faiss::HNSW::NodeDistCloser;
using Farther = faiss::HNSW::NodeDistFarther;

// std::priority_queue's push and pop (push_back + push_heap, pop_heap +
// pop_back, with std::less), on a buffer kept for the whole call: the same heap
// operations as FAISS's queues, so entries of equal distance leave in FAISS's
// order.
template <class T>
inline void heapPush(std::vector<T>& heap, float d, storage_idx_t id) {
  heap.emplace_back(d, id);
  std::push_heap(heap.begin(), heap.end(), std::less<T>());
}
template <class T>
inline void heapPop(std::vector<T>& heap) {
  std::pop_heap(heap.begin(), heap.end(), std::less<T>());
  heap.pop_back();
}

// Neighbour lists are read by every thread while their owner's thread may be
// rewriting them (FAISS does the same: only writers take a node's lock); each
// entry is read and written whole, and is always some node's id or -1.
inline storage_idx_t loadLink(const storage_idx_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void storeLink(storage_idx_t* p, storage_idx_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// One byte per node, marked with the current search's number: starting a search
// takes the next number instead of clearing the table (FAISS's VisitedTable
// does the same, within one level of one call); cleared when the number wraps.
class VisitedTable {
 public:
  void resize(size_t n) { marks_.assign(n, 0); }
  void begin() {
    if (++current_ == 0) {
      std::fill(marks_.begin(), marks_.end(), 0);
      current_ = 1;
    }
  }
  void visit(storage_idx_t i) { marks_[i] = current_; }
  bool visited(storage_idx_t i) const { return marks_[i] == current_; }
  // Appends to `out` the entries of list[0..size) (up to the first -1) not yet
  // visited, marking them, and returns how many: FAISS's loop, without a branch
  // on each mark.
  int takeUnvisited(const storage_idx_t* list, size_t size, storage_idx_t* out) {
    uint8_t* const marks = marks_.data();
    const uint8_t mark = current_;
    int count = 0;
    for (size_t j = 0; j < size; j++) {
      const storage_idx_t v = loadLink(list + j);
      if (v < 0) break;
      out[count] = v;
      count += marks[v] != mark;
      marks[v] = mark;
    }
    return count;
  }

 private:
  std::vector<uint8_t> marks_;
  uint8_t current_ = 0;
};

// Waits for locks another thread held, counted (and timed) only when they
// happen: for the build profile (kernels/hnsw_build_profile.h).
struct Waits {
  int64_t count = 0;
  int64_t ns = 0;
};

// A lock per node, one byte each (FAISS: an omp_lock_t each, set and unset
// through a library call). A thread holds at most one at a time. With one
// thread there is nothing to exclude.
class NodeLocks {
 public:
  NodeLocks(size_t n, bool used) : used_(used), held_(used ? n : 0, 0) {}
  void lock(storage_idx_t i, Waits& waits) {
    if (!used_) return;
    uint8_t* l = &held_[i];
    if (!__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) return;
    const int64_t start = HnswBuildProfile::nowNs();
    for (int spins = 0; __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);) {
      while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
        // The holder may have lost its core to another process: let it run.
        if (++spins > 64) {
          sched_yield();
        } else {
          __builtin_ia32_pause();
        }
      }
    }
    waits.count++;
    waits.ns += HnswBuildProfile::nowNs() - start;
  }
  void unlock(storage_idx_t i) {
    if (used_) __atomic_store_n(&held_[i], 0, __ATOMIC_RELEASE);
  }

 private:
  bool used_;
  std::vector<uint8_t> held_;
};

// A level's nodes cut into one contiguous share per thread, as OpenMP's
// schedule(static) gives FAISS's threads: threads that took turns over the
// level's random order would build nearly the one-thread graph, FAISS's threads
// build others, and which searches better is chance (the recall of FAISS's own
// several-thread builds moves by a few percent from one build to the next on
// clustered data). A thread that has done its own share goes on with what is
// left of the others', from their front, so that no thread waits at the level's
// end while another still has nodes: a share's nodes take unequal times, and a
// thread that loses its core to another process (or that OpenMP did not start)
// leaves its share to the rest. Each node is taken by one atomic increment of its
// share's counter; with one thread the order is FAISS's.
class Shares {
 public:
  Shares(int begin, int end, int count) : shares_(static_cast<size_t>(count)) {
    const int total = end - begin;
    for (int t = 0; t < count; t++) {
      shares_[t].next.store(begin + static_cast<int>(int64_t{total} * t / count), std::memory_order_relaxed);
      shares_[t].end = begin + static_cast<int>(int64_t{total} * (t + 1) / count);
    }
  }
  int count() const { return static_cast<int>(shares_.size()); }
  // The next node of share t, or -1 when it has none left.
  int take(int t) {
    Share& s = shares_[static_cast<size_t>(t)];
    if (s.next.load(std::memory_order_relaxed) >= s.end) return -1;
    const int i = s.next.fetch_add(1, std::memory_order_relaxed);
    return i < s.end ? i : -1;
  }

 private:
  struct alignas(64) Share {
    std::atomic<int> next{0};
    int end = 0;
  };
  std::vector<Share> shares_;
};

// A thread's buffers for the whole call.
struct Scratch {
  VisitedTable visited;
  std::vector<Farther> candidates;   // search_neighbors_to_add's candidates
  std::vector<Closer> results;       // ... and results: the link targets
  std::vector<storage_idx_t> batch;  // ids whose distances are computed together
  std::vector<float> batchDis;
  std::vector<Closer> linkSet;       // add_link's resultSet
  std::vector<Farther> pruneInput;   // shrink_neighbor_list's input and output
  std::vector<Farther> pruneOutput;
  std::vector<uint8_t> outputPruned;  // per pruneOutput entry: one of `pruned`
  VisitedTable pruned;                // a full list's entries a prune kept (PrunedPrefix)
  std::vector<storage_idx_t> linked;  // the node's link targets on one level
  Waits lockWaits;                    // node locks held by another thread
  Waits entryWaits;                   // the entry point's mutex held by another thread

  void reserve(size_t ntotal, size_t efConstruction, size_t maxNeighbours) {
    visited.resize(ntotal);
    candidates.reserve(efConstruction + maxNeighbours);
    results.reserve(efConstruction + 1);
    batch.resize(maxNeighbours + 1);
    batchDis.resize(maxNeighbours + 1);
    linkSet.reserve(std::max(efConstruction, maxNeighbours) + 1);
    pruneInput.reserve(std::max(efConstruction, maxNeighbours) + 1);
    pruneOutput.reserve(std::max(efConstruction, maxNeighbours) + 1);
    outputPruned.reserve(std::max(efConstruction, maxNeighbours) + 1);
    pruned.resize(ntotal);
    linked.reserve(std::max(efConstruction, maxNeighbours) + 1);
  }
};

// Distances between a vector and stored vectors, as FAISS's distance computer
// gives them to HNSW: L2, or the inner product negated (IndexHNSW's
// NegativeDistanceComputer), so that smaller is nearer for both.
class Distances {
 public:
  Distances(const ExactDistances& fns, const float* base, size_t d, bool negate) : stored_(fns, base, d), negate_(negate) {}

  const float* vector(storage_idx_t i) const { return stored_.vector(i); }

  float one(const float* q, storage_idx_t i) const {
    const float v = stored_.one(q, i);
    return negate_ ? -v : v;
  }

  // out[j] = the distance from q to ids[j], j < count.
  void many(const float* q, const storage_idx_t* ids, int count, float* out) const {
    stored_.many(q, ids, count, out);
    if (negate_) negateDistances(out, count);
  }

  void prefetch(storage_idx_t i) const { stored_.prefetch(i); }

 private:
  StoredDistances stored_;
  bool negate_;
};

// Per node and level, how many entries at the front of its neighbour list are a
// prune's output (shrink_neighbor_list's): lists this call wrote, 0 for the rest.
//
// Why: a full list is pruned again and again as reverse links arrive (on level
// 0 most of a build's distances are the prune's, each kept entry against the
// candidates before it). The prune keeps a candidate unless a kept one is nearer
// to it than the list's owner is. Two entries both kept by the last prune passed
// that test against each other then, and the distances are the same bits now
// (the same vectors, the same arithmetic: FAISS's distance is symmetric, bit for
// bit), so the test between them would pass again: it is skipped, and the prune
// keeps what FAISS's keeps. Entries appended since (after the prefix) and the
// new link are tested in full. Read and written under the node's lock.
class PrunedPrefix {
 public:
  PrunedPrefix(size_t ntotal, size_t levels) : levels_(levels), count_(ntotal * levels, 0) {}
  uint16_t get(storage_idx_t node, int level) const { return count_[index(node, level)]; }
  void set(storage_idx_t node, int level, size_t count) { count_[index(node, level)] = static_cast<uint16_t>(count); }
  static int64_t bytes(size_t ntotal, size_t levels) {
    return mulBytes(mulBytes(static_cast<int64_t>(ntotal), static_cast<int64_t>(levels)), sizeof(uint16_t));
  }

 private:
  size_t index(storage_idx_t node, int level) const { return static_cast<size_t>(node) * levels_ + static_cast<size_t>(level); }
  size_t levels_;
  std::vector<uint16_t> count_;
};

// HNSW::add_with_locks and what it calls, step for step.
class Builder {
 public:
  Builder(faiss::IndexHNSWFlat& index, const Distances& dist, NodeLocks& locks, PrunedPrefix& prunedPrefix)
      : hnsw_(index.hnsw),
        dist_(dist),
        locks_(locks),
        prunedPrefix_(prunedPrefix),
        links_(index.hnsw.neighbors.data()),
        cum_(index.hnsw.cum_nneighbor_per_level.data()),
        efConstruction_(static_cast<size_t>(index.hnsw.efConstruction)) {}

  // add_with_locks(pt, ptLevel).
  void insert(storage_idx_t pt, int ptLevel, Scratch& s) {
    storage_idx_t nearest;
    int level;
    {
      // FAISS reads max_level outside its critical section; read together they
      // cannot disagree (one thread: the same values).
      const std::lock_guard<std::mutex> guard(lockEntry(s), std::adopt_lock);
      nearest = hnsw_.entry_point;
      level = hnsw_.max_level;
      if (nearest == -1) {
        hnsw_.max_level = ptLevel;
        hnsw_.entry_point = pt;
      }
    }
    if (nearest < 0) return;

    locks_.lock(pt, s.lockWaits);
    const float* q = dist_.vector(pt);
    float dNearest = dist_.one(q, nearest);
    for (; level > ptLevel; level--) greedyUpdateNearest(q, level, nearest, dNearest, s);
    // The same entry on every level (FAISS 1.7.3 does not move it down).
    for (; level >= 0; level--) addLinksStartingFrom(pt, q, nearest, dNearest, level, s);
    locks_.unlock(pt);

    const std::lock_guard<std::mutex> guard(lockEntry(s), std::adopt_lock);
    if (ptLevel > hnsw_.max_level) {
      hnsw_.max_level = ptLevel;
      hnsw_.entry_point = pt;
    }
  }

 private:
  // entryMutex_, locked; a wait for it counted in s.entryWaits.
  std::mutex& lockEntry(Scratch& s) {
    if (entryMutex_.try_lock()) return entryMutex_;
    const int64_t start = HnswBuildProfile::nowNs();
    entryMutex_.lock();
    s.entryWaits.count++;
    s.entryWaits.ns += HnswBuildProfile::nowNs() - start;
    return entryMutex_;
  }

  size_t rangeBegin(storage_idx_t node, int level) const { return hnsw_.offsets[node] + cum_[level]; }
  size_t rangeEnd(storage_idx_t node, int level) const { return hnsw_.offsets[node] + cum_[level + 1]; }

  void prefetchList(storage_idx_t node, int level) const {
    const char* b = reinterpret_cast<const char*>(links_ + rangeBegin(node, level));
    const char* e = reinterpret_cast<const char*>(links_ + rangeEnd(node, level));
    for (; b < e; b += 64) __builtin_prefetch(b, 0, 3);
  }

  // greedy_update_nearest: move to a nearer neighbour while there is one,
  // comparing in list order.
  void greedyUpdateNearest(const float* q, int level, storage_idx_t& nearest, float& dNearest, Scratch& s) const {
    for (;;) {
      const storage_idx_t prev = nearest;
      const size_t begin = rangeBegin(nearest, level), end = rangeEnd(nearest, level);
      int count = 0;
      for (size_t j = begin; j < end; j++) {
        const storage_idx_t v = loadLink(links_ + j);
        if (v < 0) break;
        s.batch[count++] = v;
        dist_.prefetch(v);
      }
      dist_.many(q, s.batch.data(), count, s.batchDis.data());
      for (int j = 0; j < count; j++) {
        if (s.batchDis[j] < dNearest) {
          nearest = s.batch[j];
          dNearest = s.batchDis[j];
        }
      }
      if (nearest == prev) return;
    }
  }

  // search_neighbors_to_add: the efConstruction nearest found from `entry` on
  // `level`, into s.results. A node's unvisited neighbours are taken first and
  // their distances computed together; the queues then see them in list order,
  // as in FAISS.
  void searchNeighboursToAdd(const float* q, storage_idx_t entry, float dEntry, int level, Scratch& s) const {
    std::vector<Farther>& candidates = s.candidates;
    std::vector<Closer>& results = s.results;
    candidates.clear();
    results.clear();
    s.visited.begin();
    heapPush(candidates, dEntry, entry);
    heapPush(results, dEntry, entry);
    s.visited.visit(entry);

    storage_idx_t prefetched = -1;
    while (!candidates.empty()) {
      const Farther current = candidates.front();
      if (current.d > results.front().d) break;
      heapPop(candidates);
      // The best candidate left is most often the next expanded: its list is
      // asked for while this node's neighbours are computed.
      if (!candidates.empty()) prefetchList(prefetched = candidates.front().id, level);

      const size_t begin = rangeBegin(current.id, level), end = rangeEnd(current.id, level);
      const int count = s.visited.takeUnvisited(links_ + begin, end - begin, s.batch.data());
      for (int j = 0; j < count; j++) dist_.prefetch(s.batch[j]);
      dist_.many(q, s.batch.data(), count, s.batchDis.data());
      for (int j = 0; j < count; j++) {
        const float d = s.batchDis[j];
        if (results.size() < efConstruction_ || results.front().d > d) {
          // A candidate: where its lists start is read when it is expanded.
          __builtin_prefetch(&hnsw_.offsets[s.batch[j]], 0, 3);
          heapPush(results, d, s.batch[j]);
          heapPush(candidates, d, s.batch[j]);
          if (results.size() > efConstruction_) heapPop(results);
        }
      }
      // A neighbour nearer than every candidate left is the next expanded: its
      // list, not the one asked for above, is read next.
      if (!candidates.empty() && candidates.front().id != prefetched) prefetchList(prefetched = candidates.front().id, level);
    }
  }

  // HNSW::shrink_neighbor_list: from nearest to farthest, keep a node unless a
  // node already kept is nearer to it than the query is. `input` is a heap.
  // `pruned` (may be null): nodes the list's last prune kept, whose tests
  // against each other are known to pass (PrunedPrefix).
  void shrinkNeighborList(std::vector<Farther>& input, std::vector<Farther>& output, size_t maxSize,
                          const VisitedTable* pruned, Scratch& s) const {
    std::vector<uint8_t>& outputPruned = s.outputPruned;
    outputPruned.clear();
    while (!input.empty()) {
      const Farther v1 = input.front();
      heapPop(input);
      const float* y1 = dist_.vector(v1.id);
      const bool v1Pruned = pruned && pruned->visited(v1.id);
      bool good = true;
      // Distances to the kept nodes four at a time, but for those the last prune
      // kept with v1; the first nearer one decides (one computed past it changes nothing).
      for (size_t j = 0; good && j < output.size();) {
        storage_idx_t ids[4];
        int count = 0;
        for (; count < 4 && j < output.size(); j++) {
          if (!(v1Pruned && outputPruned[j])) ids[count++] = output[j].id;
        }
        if (count == 0) break;
        float d[4];
        dist_.many(y1, ids, count, d);
        for (int t = 0; t < count; t++) {
          if (d[t] < v1.d) {
            good = false;
            break;
          }
        }
      }
      if (good) {
        output.push_back(v1);
        outputPruned.push_back(v1Pruned);
        if (output.size() >= maxSize) return;
      }
    }
  }

  // The namespace-level shrink_neighbor_list of HNSW.cpp: `set` (a heap) cut
  // down to at most maxSize by the rule above, when it has maxSize or more.
  // Returns whether it did.
  bool shrinkCloser(std::vector<Closer>& set, size_t maxSize, const VisitedTable* pruned, Scratch& s) const {
    if (set.size() < maxSize) return false;
    std::vector<Farther>& input = s.pruneInput;
    std::vector<Farther>& output = s.pruneOutput;
    input.clear();
    output.clear();
    while (!set.empty()) {
      heapPush(input, set.front().d, set.front().id);
      heapPop(set);
    }
    shrinkNeighborList(input, output, maxSize, pruned, s);
    for (const Farther& kept : output) heapPush(set, kept.d, kept.id);
    return true;
  }

  // add_link: dest into src's list on `level`, pruning a full list. The caller
  // holds src's lock.
  void addLink(storage_idx_t src, storage_idx_t dest, int level, Scratch& s) const {
    const size_t begin = rangeBegin(src, level), end = rangeEnd(src, level);
    storage_idx_t* const list = links_;
    if (loadLink(list + end - 1) == -1) {
      size_t i = end;
      while (i > begin && loadLink(list + i - 1) == -1) i--;
      storeLink(list + i, dest);
      return;
    }
    // Full: the list and dest compete, by their distances to src.
    int count = 0;
    s.batch[count++] = dest;
    for (size_t i = begin; i < end; i++) s.batch[count++] = loadLink(list + i);
    for (int j = 0; j < count; j++) dist_.prefetch(s.batch[j]);
    dist_.many(dist_.vector(src), s.batch.data(), count, s.batchDis.data());
    std::vector<Closer>& set = s.linkSet;
    set.clear();
    for (int j = 0; j < count; j++) heapPush(set, s.batchDis[j], s.batch[j]);
    shrinkCloser(set, end - begin, markPruned(src, level, s), s);
    size_t i = begin;
    for (; !set.empty(); heapPop(set)) storeLink(list + i++, set.front().id);
    prunedPrefix_.set(src, level, i - begin);
    for (; i < end; i++) storeLink(list + i, -1);
  }

  // Marks in s.pruned the entries of the full list s.batch[1..] (s.batch[0]:
  // the new link) that src's last prune on `level` kept; null where there are
  // none, or where a node is in the list twice (a race of several threads can
  // link a node twice), once among them and once not: then every test is made.
  const VisitedTable* markPruned(storage_idx_t src, int level, Scratch& s) const {
    const int prefix = prunedPrefix_.get(src, level);
    if (prefix == 0) return nullptr;
    const int count = static_cast<int>(rangeEnd(src, level) - rangeBegin(src, level)) + 1;
    s.pruned.begin();
    for (int j = 1; j <= prefix; j++) s.pruned.visit(s.batch[j]);
    if (s.pruned.visited(s.batch[0])) return nullptr;
    for (int j = prefix + 1; j < count; j++)
      if (s.pruned.visited(s.batch[j])) return nullptr;
    return &s.pruned;
  }

  // HNSW::add_links_starting_from. Called with pt's lock held; leaves it held.
  void addLinksStartingFrom(storage_idx_t pt, const float* q, storage_idx_t nearest, float dNearest, int level,
                            Scratch& s) {
    searchNeighboursToAdd(q, nearest, dNearest, level, s);
    const bool pruned = shrinkCloser(s.results, static_cast<size_t>(cum_[level + 1] - cum_[level]), nullptr, s);

    // pt's list on this level is empty unless another thread linked to pt here
    // while pt's lock was free (between two levels): then its front is not the
    // prune's output.
    const bool empty = loadLink(links_ + rangeBegin(pt, level)) == -1;
    s.linked.clear();
    for (; !s.results.empty(); heapPop(s.results)) {
      const storage_idx_t other = s.results.front().id;
      addLink(pt, other, level, s);
      s.linked.push_back(other);
    }
    if (pruned && empty) prunedPrefix_.set(pt, level, s.linked.size());
    // Each target's list is read next: ask for the lists' ends now.
    for (const storage_idx_t other : s.linked) {
      __builtin_prefetch(links_ + rangeEnd(other, level) - 1, 0, 3);
    }

    locks_.unlock(pt);
    for (const storage_idx_t other : s.linked) {
      locks_.lock(other, s.lockWaits);
      addLink(other, pt, level, s);
      locks_.unlock(other);
    }
    locks_.lock(pt, s.lockWaits);
  }

  faiss::HNSW& hnsw_;
  const Distances& dist_;
  NodeLocks& locks_;
  PrunedPrefix& prunedPrefix_;
  storage_idx_t* const links_;
  const int* const cum_;
  const size_t efConstruction_;
  std::mutex entryMutex_;
};

bool isFlatStorage(const faiss::Index* storage) {
  if (!storage) return false;
  const std::type_info& t = typeid(*storage);
  return t == typeid(faiss::IndexFlat) || t == typeid(faiss::IndexFlatL2) || t == typeid(faiss::IndexFlatIP);
}

// Whether the kernel adds n vectors to `index`, and if not, why (FAISS then
// adds, and throws its own errors: not trained, and so on).
Fit buildFit(faiss::Index& index, int64_t n) {
  if (typeid(index) != typeid(faiss::IndexHNSWFlat)) return Fit::kNotItsSearch;
  auto& h = static_cast<faiss::IndexHNSWFlat&>(index);
  if (h.metric_type != faiss::METRIC_L2 && h.metric_type != faiss::METRIC_INNER_PRODUCT) return Fit::kMetric;
  if (!h.is_trained || h.verbose || n < 0) return Fit::kSettings;
  if (!isFlatStorage(h.storage) || h.storage->metric_type != h.metric_type) return Fit::kSettings;
  const auto& flat = static_cast<const faiss::IndexFlat&>(*h.storage);
  if (flat.d != h.d || h.d <= 0 || flat.ntotal != h.ntotal || flat.code_size != h.d * sizeof(float)) return Fit::kSettings;
  const faiss::HNSW& g = h.hnsw;
  if (g.efConstruction < 1) return Fit::kSettings;
  if (h.ntotal > INT_MAX - n) return Fit::kSettings;  // ids are int32 in the graph
  const size_t n0 = static_cast<size_t>(h.ntotal);
  if (g.offsets.size() != n0 + 1 || g.offsets.back() != g.neighbors.size()) return Fit::kSettings;
  if (g.entry_point < -1 || g.entry_point >= static_cast<int64_t>(std::max<size_t>(n0, 1))) return Fit::kSettings;
  const int levelsKnown = static_cast<int>(g.cum_nneighbor_per_level.size()) - 1;
  if (levelsKnown < 1 || g.assign_probas.empty() || g.max_level >= levelsKnown) return Fit::kSettings;
  // Levels set beforehand for the new vectors (prepare_level_tab's
  // preset_levels) must be levels the graph has lists for.
  if (g.levels.size() == n0 + static_cast<size_t>(n) && n > 0) {
    for (size_t i = n0; i < g.levels.size(); i++)
      if (g.levels[i] < 1 || g.levels[i] > levelsKnown) return Fit::kSettings;
  } else if (g.levels.size() != n0) {
    return Fit::kSettings;
  }
  return Fit::kAnswers;
}

// `index` as the HNSW index the kernel adds n vectors to, or null where FAISS
// adds; counted (kernels/stats.h) either way.
faiss::IndexHNSWFlat* buildTarget(faiss::Index& index, int64_t n) {
  if (!kernelTakes(Kernel::kHnswBuild, buildFit(index, n))) return nullptr;
  return &static_cast<faiss::IndexHNSWFlat&>(index);
}

// The largest neighbour list on any level.
size_t maxNeighbours(const faiss::HNSW& hnsw) {
  int most = 0;
  for (size_t l = 0; l + 1 < hnsw.cum_nneighbor_per_level.size(); l++) most = std::max(most, hnsw.nb_neighbors(l));
  return static_cast<size_t>(most);
}

// IndexHNSW::add(n, x) and hnsw_add_vertices for a buildTarget.
void addVertices(faiss::IndexHNSWFlat& index, int64_t n, const float* x) {
  faiss::HNSW& hnsw = index.hnsw;
  const size_t n0 = static_cast<size_t>(index.ntotal);
  const size_t ntotal = n0 + static_cast<size_t>(n);

  // Everything this call allocates, within the per-call limit, before the index
  // changes. (The candidate queues can outgrow what is reserved, as FAISS's do.)
  const int team = std::max(1, omp_get_max_threads());
  const std::unique_ptr<HnswBuildProfile> profile = HnswBuildProfile::startIfAsked(n, index.ntotal, team);
  const int64_t queue = static_cast<int64_t>(std::max<size_t>(hnsw.efConstruction, maxNeighbours(hnsw)) + 1);
  const size_t levels = hnsw.cum_nneighbor_per_level.size() - 1;
  const int64_t perThread = addBytes(mulBytes(static_cast<int64_t>(ntotal), 2), mulBytes(queue, 9 * sizeof(Closer)));
  const int64_t bytes = addBytes(addBytes(mulBytes(team, perThread), PrunedPrefix::bytes(ntotal, levels)),
                                 addBytes(static_cast<int64_t>(ntotal), mulBytes(n, sizeof(int))));
  requireWithinLimit("add", bytes, "HNSW construction buffers for " + std::to_string(team) + " threads");
  std::vector<Scratch> scratch(team);
  for (Scratch& s : scratch) s.reserve(ntotal, static_cast<size_t>(hnsw.efConstruction), maxNeighbours(hnsw));
  NodeLocks locks(ntotal, team > 1);
  PrunedPrefix prunedPrefix(ntotal, levels);
  std::vector<int> order(static_cast<size_t>(n));

  if (profile) profile->endPhase("buffers");
  index.storage->add(n, x);
  index.ntotal = index.storage->ntotal;
  if (n == 0) return;
  if (profile) profile->endPhase("storageAdd");

  const bool presetLevels = hnsw.levels.size() == ntotal;
  const int maxLevel = hnsw.prepare_level_tab(static_cast<size_t>(n), presetLevels);

  // Buckets of the new vectors by level, lowest first (FAISS's bucket sort).
  std::vector<int> hist;
  for (size_t i = 0; i < static_cast<size_t>(n); i++) {
    const size_t level = static_cast<size_t>(hnsw.levels[n0 + i] - 1);
    if (level >= hist.size()) hist.resize(level + 1, 0);
    hist[level]++;
  }
  {
    std::vector<int> start(hist.size() + 1, 0);
    for (size_t l = 0; l + 1 < hist.size(); l++) start[l + 1] = start[l] + hist[l];
    for (size_t i = 0; i < static_cast<size_t>(n); i++)
      order[start[hnsw.levels[n0 + i] - 1]++] = static_cast<int>(n0 + i);
  }

  // Every step reads a neighbour list and vectors from anywhere in these. A
  // build moves them onto huge pages at once; a small add to a large index
  // (where a just-reallocated array would cost more to move than the add
  // takes) only a page of each, as a search does.
  const float* base = static_cast<const faiss::IndexFlat&>(*index.storage).get_xb();
  const size_t vectorBytes = ntotal * index.d * sizeof(float);
  const size_t listBytes = hnsw.neighbors.size() * sizeof(storage_idx_t);
  if (static_cast<size_t>(n) * 8 >= ntotal) {
    adviseHugePagesNow(base, vectorBytes);
    adviseHugePagesNow(hnsw.neighbors.data(), listBytes);
  } else {
    adviseHugePages(base, vectorBytes);
    adviseHugePages(hnsw.neighbors.data(), listBytes);
  }
  if (profile) profile->endPhase("levelsAndHugePages");

  const bool ip = index.metric_type == faiss::METRIC_INNER_PRODUCT;
  const ExactDistances& fns = exactDistances(ip ? DistanceKind::kInnerProduct : DistanceKind::kL2);
  const Distances dist(fns, base, index.d, ip);
  Builder builder(index, dist, locks, prunedPrefix);
  const size_t checkPeriod =
      faiss::InterruptCallback::get_period_hint(static_cast<size_t>(maxLevel) * index.d * hnsw.efConstruction);

  // Highest level first; each level's nodes in FAISS's random order.
  faiss::RandomGenerator rng2(789);
  int i1 = static_cast<int>(n);
  for (int level = static_cast<int>(hist.size()) - 1; level >= 0; level--) {
    const int i0 = i1 - hist[level];
    for (int j = i0; j < i1; j++) std::swap(order[j], order[j + rng2.rand_int(i1 - j)]);

    std::atomic<bool> stop{false};
    bool interrupted = false;
    std::exception_ptr failure;
    const bool parallel = i1 > i0 + 100;
    const int threads = parallel ? team : 1;
    Shares shares(i0, i1, threads);
    if (profile) profile->beginLevel(level, i1 - i0, threads);
#pragma omp parallel num_threads(threads)
    {
      try {
        const int t = omp_get_thread_num();
        Scratch& s = scratch[t];
        const Waits lockWaits = s.lockWaits, entryWaits = s.entryWaits;
        const int64_t cpuStart = profile ? HnswBuildProfile::threadCpuNs() : 0;
        size_t counter = 0;
        // Its own share, then the others' in turn.
        for (int k = 0; k < shares.count() && !stop.load(std::memory_order_relaxed); k++) {
          const int from = (t + k) % shares.count();
          for (int i; !stop.load(std::memory_order_relaxed) && (i = shares.take(from)) >= 0;) {
            builder.insert(order[i], level, s);
            if (counter++ % checkPeriod == 0 && faiss::InterruptCallback::is_interrupted()) {
              stop = true;
#pragma omp critical(fp_hnsw_build_failure)
              interrupted = true;
            }
          }
        }
        if (profile) {
          HnswBuildThreadTimes& times = profile->thread(t);
          times.nodes = static_cast<int64_t>(counter);
          times.busyNs = HnswBuildProfile::nowNs() - profile->levelStartNs();
          times.cpuNs = HnswBuildProfile::threadCpuNs() - cpuStart;
          times.lockWaits = s.lockWaits.count - lockWaits.count;
          times.lockWaitNs = s.lockWaits.ns - lockWaits.ns;
          times.entryWaits = s.entryWaits.count - entryWaits.count;
          times.entryWaitNs = s.entryWaits.ns - entryWaits.ns;
        }
      } catch (...) {
        stop = true;
#pragma omp critical(fp_hnsw_build_failure)
        if (!failure) failure = std::current_exception();
      }
    }
    if (profile) profile->endLevel();
    if (failure) std::rethrow_exception(failure);
    if (interrupted) FAISS_THROW_MSG("computation interrupted");
    i1 = i0;
  }
}

}  // namespace

bool hnswBuildAdd(faiss::Index& index, int64_t n, const float* x, const int64_t* ids) {
  if (!kernelSwitches().hnswBuild.load(std::memory_order_relaxed)) return false;
  if (!ids) {
    faiss::IndexHNSWFlat* h = buildTarget(index, n);
    if (!h) return false;
    countAnswer(Kernel::kHnswBuild);
    addVertices(*h, n, x);
    return true;
  }
  // IndexIDMapTemplate::add_with_ids (and IndexIDMap2Template's, which then
  // records the new ids' positions), around the kernel's add.
  const std::type_info& t = typeid(index);
  if (t != typeid(faiss::IndexIDMap) && t != typeid(faiss::IndexIDMap2)) return false;
  auto& map = static_cast<faiss::IndexIDMap&>(index);
  faiss::IndexHNSWFlat* h = map.index ? buildTarget(*map.index, n) : nullptr;
  if (!h) return false;
  countAnswer(Kernel::kHnswBuild);
  const int64_t before = map.ntotal;
  addVertices(*h, n, x);
  map.id_map.insert(map.id_map.end(), ids, ids + n);
  map.ntotal = h->ntotal;
  if (t == typeid(faiss::IndexIDMap2)) {
    auto& map2 = static_cast<faiss::IndexIDMap2&>(index);
    for (int64_t i = before; i < map2.ntotal; i++) map2.rev_map[map2.id_map[i]] = i;
  }
  return true;
}

}  // namespace fp
