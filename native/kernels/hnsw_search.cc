#include "hnsw_search.h"

#include <faiss/IndexFlat.h>
#include <faiss/impl/HNSW.h>
#include <faiss/utils/Heap.h>
#include <omp.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <exception>
#include <limits>
#include <typeinfo>
#include <vector>

#include "exact_distances.h"
#include "hnsw_distances.h"
#include "huge_pages.h"
#include "switches.h"
#include "../selector_prefetch.h"

namespace fp {
namespace {

using storage_idx_t = faiss::HNSW::storage_idx_t;

// A visited mark per vector that survives between searches on the same thread:
// a search marks with its own number, so the next search starts by taking the
// next number instead of clearing ntotal bytes (FAISS allocates and zeroes a
// table per search call). The table is cleared once every 255 searches, when
// the numbers wrap. One byte per vector, as FAISS's VisitedTable.
class VisitedTable {
 public:
  // Room for `n` vectors; new entries hold 0, never a search's number.
  void reserve(size_t n) {
    if (marks_.size() < n) marks_.resize(n, 0);
  }
  // Starts a search: nothing is visited.
  void begin() {
    if (++current_ == 0) {
      std::fill(marks_.begin(), marks_.end(), 0);
      current_ = 1;
    }
  }
  bool visited(storage_idx_t i) const { return marks_[i] == current_; }
  void visit(storage_idx_t i) { marks_[i] = current_; }

  // Appends to `out` those of list[0..) (up to the first -1, at most `size`) not
  // visited yet, marking them visited, and returns how many. Without a branch
  // on whether each was visited (a coin toss the CPU mispredicts), and with the
  // table and its mark in registers (a store through a uint8_t* may alias
  // anything, so the compiler reloads members after each one).
  int takeUnvisited(const storage_idx_t* list, size_t size, storage_idx_t* out) {
    uint8_t* const marks = marks_.data();
    const uint8_t mark = current_;
    int count = 0;
    for (size_t j = 0; j < size; j++) {
      const storage_idx_t v = list[j];
      if (v < 0) break;
      out[count] = v;
      count += marks[v] != mark;
      marks[v] = mark;
    }
    return count;
  }
  // A table kept by a thread is at most this big (docs/operations.md, memory
  // per request); a bigger one (an index of more vectors) is freed after the
  // call, as FAISS frees its own.
  static constexpr size_t kKeepBytes = size_t{8} << 20;
  void trim() {
    if (marks_.size() > kKeepBytes) {
      std::vector<uint8_t>().swap(marks_);
      current_ = 0;
    }
  }

 private:
  std::vector<uint8_t> marks_;
  uint8_t current_ = 0;
};

// FAISS's HNSW::MinimaxHeap, the candidate queue of the level-0 search: a
// max-heap of at most n (distance, id) pairs that also gives its minimum, by a
// linear scan. The same operations in the same order as FAISS's, so equal
// distances come out in FAISS's order.
class Candidates {
 public:
  using HC = faiss::CMax<float, storage_idx_t>;

  void reserve(int n) {
    if (ids_.size() < static_cast<size_t>(n)) {
      ids_.resize(n);
      dis_.resize(n);
    }
  }
  // An empty queue of at most n (reserved before).
  void reset(int n) {
    n_ = n;
    k_ = nvalid_ = 0;
  }
  int size() const { return nvalid_; }

  void push(storage_idx_t i, float v) {
    if (k_ == n_) {
      if (v >= dis_[0]) return;
      faiss::heap_pop<HC>(k_--, dis_.data(), ids_.data());
      --nvalid_;
    }
    faiss::heap_push<HC>(++k_, dis_.data(), ids_.data(), v, i);
    ++nvalid_;
  }

  // The valid entry of least distance, the last one in the array among equals
  // (FAISS scans from the end and keeps the first strictly smaller one).
  storage_idx_t popMin(float* vmin_out) {
    int imin = -1;
#ifdef __AVX512F__
    if (!findMinVector(&imin))
#endif
      imin = findMinScalar();
    if (imin < 0) return -1;
    *vmin_out = dis_[imin];
    const storage_idx_t ret = ids_[imin];
    ids_[imin] = -1;
    --nvalid_;
    return ret;
  }

  // The entry popMin would return next, or -1 (only a prefetch hint: ties and
  // NaN aside).
  storage_idx_t peekMin() const {
#ifdef __AVX512F__
    int imin;
    if (findMinVector(&imin)) return imin < 0 ? -1 : ids_[imin];
#endif
    const int i = findMinScalar();
    return i < 0 ? -1 : ids_[i];
  }

  // How many entries, popped ones included, are below `thresh`.
  int countBelow(float thresh) const {
    int below = 0;
    int i = 0;
#ifdef __AVX512F__
    const __m512 t = _mm512_set1_ps(thresh);
    for (; i + 16 <= k_; i += 16)
      below += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(dis_.data() + i), t, _CMP_LT_OQ));
#endif
    for (; i < k_; i++) below += dis_[i] < thresh;
    return below;
  }

 private:
  int findMinScalar() const {
    int i = k_ - 1;
    while (i >= 0 && ids_[i] == -1) i--;
    if (i == -1) return -1;
    int imin = i;
    float vmin = dis_[i];
    for (i--; i >= 0; i--) {
      if (ids_[i] != -1 && dis_[i] < vmin) {
        vmin = dis_[i];
        imin = i;
      }
    }
    return imin;
  }

#ifdef __AVX512F__
  // findMinScalar's answer, 16 entries at a time: the least distance among the
  // valid entries, then the last valid entry holding it. False (nothing found)
  // when a valid entry is NaN, where the scalar scan's answer depends on order.
  bool findMinVector(int* imin) const {
    const __m512i popped = _mm512_set1_epi32(-1);
    __m512 vmin = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    __mmask16 anyValid = 0, nan = 0;
    for (int i = 0; i < k_; i += 16) {
      const __mmask16 in = k_ - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (k_ - i)) - 1);
      const __mmask16 valid =
          _mm512_mask_cmpneq_epi32_mask(in, _mm512_maskz_loadu_epi32(in, ids_.data() + i), popped);
      const __m512 v = _mm512_maskz_loadu_ps(valid, dis_.data() + i);
      nan |= _mm512_mask_cmp_ps_mask(valid, v, v, _CMP_UNORD_Q);
      vmin = _mm512_mask_min_ps(vmin, valid, vmin, v);
      anyValid |= valid;
    }
    if (nan) return false;
    if (!anyValid) {
      *imin = -1;
      return true;
    }
    // (Not _mm512_reduce_min_ps: GCC 12's header warns of an uninitialised value in it.)
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, vmin);
    const __m512 least = _mm512_set1_ps(*std::min_element(lanes, lanes + 16));
    for (int i = (k_ - 1) & ~15; i >= 0; i -= 16) {
      const __mmask16 in = k_ - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (k_ - i)) - 1);
      const __mmask16 valid =
          _mm512_mask_cmpneq_epi32_mask(in, _mm512_maskz_loadu_epi32(in, ids_.data() + i), popped);
      const __mmask16 eq = _mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, dis_.data() + i), least, _CMP_EQ_OQ);
      if (eq) {
        *imin = i + 31 - __builtin_clz(static_cast<unsigned>(eq));
        return true;
      }
    }
    return false;  // not reached: the least valid distance is some valid entry's
  }
#endif


 private:
  int n_ = 0, k_ = 0, nvalid_ = 0;
  std::vector<storage_idx_t> ids_;
  std::vector<float> dis_;
};

// A thread's buffers, kept between searches.
struct Scratch {
  VisitedTable visited;
  Candidates candidates;
  std::vector<storage_idx_t> batch;  // a node's unvisited neighbours
  std::vector<float> batchDis;

  // Everything a search allocates, before the searches run.
  void reserve(size_t ntotal, int ef, size_t neighbours) {
    visited.reserve(ntotal);
    candidates.reserve(ef);
    if (batch.size() < neighbours) {
      batch.resize(neighbours);
      batchDis.resize(neighbours);
    }
  }
};

Scratch& threadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

// Distances from one query to stored vectors, as FAISS's distance computer gives
// them to its HNSW search: L2, or the inner product negated (IndexHNSW's
// NegativeDistanceComputer), so that smaller is better for both.
template <bool kNegate>
class QueryDistances {
 public:
  QueryDistances(const ExactDistances& fns, const float* base, size_t d, const float* q) : stored_(fns, base, d), q_(q) {}

  float one(storage_idx_t i) const {
    const float v = stored_.one(q_, i);
    return kNegate ? -v : v;
  }

  // The distances of ids[0..count).
  void many(const storage_idx_t* ids, int count, float* out) const {
    stored_.many(q_, ids, count, out);
    if (kNegate) negateDistances(out, count);
  }

  void prefetch(storage_idx_t i) const { stored_.prefetch(i); }

 private:
  StoredDistances stored_;
  const float* q_;
};

// FAISS's greedy_update_nearest: on `level`, move to the nearest neighbour while
// one is nearer, comparing in list order.
template <class Dist>
void greedyUpdateNearest(const faiss::HNSW& hnsw, const Dist& dist, int level, storage_idx_t& nearest,
                         float& dNearest, Scratch& s) {
  for (;;) {
    const storage_idx_t prev = nearest;
    size_t begin, end;
    hnsw.neighbor_range(nearest, level, &begin, &end);
    int count = 0;
    for (size_t j = begin; j < end; j++) {
      const storage_idx_t v = hnsw.neighbors[j];
      if (v < 0) break;
      s.batch[count++] = v;
      dist.prefetch(v);
    }
    dist.many(s.batch.data(), count, s.batchDis.data());
    for (int j = 0; j < count; j++) {
      if (s.batchDis[j] < dNearest) {
        nearest = s.batch[j];
        dNearest = s.batchDis[j];
      }
    }
    if (nearest == prev) return;
  }
}

// Every vector may be a result: the unfiltered search.
struct AnyVector {
  bool operator()(storage_idx_t) const { return true; }
  void prefetch(storage_idx_t) const {}
  void prefetchNext(storage_idx_t) const {}
};

// Only the vectors an IDSelector selects may be results (FAISS's
// SearchParameters::sel): the walk is the unfiltered one, every neighbour still
// enters the candidate queue, as in FAISS 1.7.3's search_from_candidates.
struct SelectedVector {
  const faiss::IDSelector& sel;
  // The same selector where it asks ahead for what it reads (selector_prefetch.h), else null.
  const PrefetchingSelector* ahead;
  explicit SelectedVector(const faiss::IDSelector& sel) : sel(sel), ahead(prefetchingOf(&sel)) {}
  bool operator()(storage_idx_t v) const { return sel.is_member(v); }
  void prefetch(storage_idx_t v) const {
    if (ahead) ahead->prefetch(v);
  }
  void prefetchNext(storage_idx_t v) const {
    if (ahead) ahead->prefetchNext(v);
  }
};

// FAISS's search_from_candidates on level 0, starting from one candidate, into
// the result heap (D, I) of k, where `isResult` says which vectors may be results.
template <class Dist, class IsResult>
void searchLevel0(const faiss::HNSW& hnsw, const Dist& dist, const IsResult& isResult, int k, float* D, int64_t* I,
                  storage_idx_t entry, float dEntry, Scratch& s) {
  Candidates& candidates = s.candidates;
  candidates.reset(std::max(hnsw.efSearch, k));
  candidates.push(entry, dEntry);
  const bool stopOnRelativeDistance = hnsw.check_relative_distance;
  const int efSearch = hnsw.efSearch;

  int nres = 0;
  // FAISS asks the selector about every neighbour first; here it is asked only about one that would enter the
  // result heap, the same answers (asking changes nothing). Once the heap holds k, few neighbours beat its worst,
  // and a collection's selector (an IDMap's id, then the selection: two lookups and two virtual calls) cost a
  // third of a filtered search's time when asked about each (perf on bench:collections, HNSW 10% warm).
  auto offer = [&](storage_idx_t v, float d) {
    if (nres < k) {
      if (isResult(v)) faiss::maxheap_push(++nres, D, I, d, static_cast<int64_t>(v));
    } else if (d < D[0] && isResult(v)) {
      faiss::maxheap_replace_top(nres, D, I, d, static_cast<int64_t>(v));
    }
  };
  offer(entry, dEntry);
  s.visited.visit(entry);

  int nstep = 0;
  const size_t listLines = (hnsw.nb_neighbors(0) * sizeof(storage_idx_t) + 63) / 64;
  while (candidates.size() > 0) {
    float d0 = 0;
    const storage_idx_t v0 = candidates.popMin(&d0);
    // FAISS's stop: ef distances already found are better than the best left.
    if (stopOnRelativeDistance && candidates.countBelow(d0) >= efSearch) break;
    // The node most likely expanded next is the best one left now (unless one of
    // v0's neighbours turns out better): its neighbour list is asked for now, so
    // that it arrives while v0's neighbours are computed.
    const storage_idx_t predicted = candidates.peekMin();
    if (predicted >= 0) {  // before v0's vectors: it is on the critical path
      const char* list = reinterpret_cast<const char*>(hnsw.neighbors.data() + hnsw.offsets[predicted]);
      for (size_t l = 0; l < listLines; l++) __builtin_prefetch(list + 64 * l, 0, 3);
    }

    size_t begin, end;
    hnsw.neighbor_range(v0, 0, &begin, &end);
    const int count = s.visited.takeUnvisited(hnsw.neighbors.data() + begin, end - begin, s.batch.data());
    for (int j = 0; j < count; j++) {
      dist.prefetch(s.batch[j]);
      // Where its neighbour list starts, for when it becomes the predicted node
      // above: without this, reading offsets[predicted] missed the cache in most
      // steps and held the list's prefetch back (1 query 5-8% faster: bench/RESULTS.md).
      __builtin_prefetch(hnsw.offsets.data() + s.batch[j], 0, 3);
      isResult.prefetch(s.batch[j]);
    }
    dist.many(s.batch.data(), count, s.batchDis.data());
    // The selector's first reads of the neighbours (asked for above) arrived while their distances were computed:
    // what they lead to is asked for now, for the neighbours offer will ask the selector about.
    for (int j = 0; j < count; j++)
      if (nres < k || s.batchDis[j] < D[0]) isResult.prefetchNext(s.batch[j]);
    for (int j = 0; j < count; j++) {
      offer(s.batch[j], s.batchDis[j]);
      candidates.push(s.batch[j], s.batchDis[j]);
    }

    nstep++;
    if (!stopOnRelativeDistance && nstep > efSearch) break;
  }
}

// One query: IndexHNSW::search's loop body and HNSW::search with upper_beam 1.
template <bool kNegate, class IsResult>
void searchOne(const faiss::IndexHNSW& index, const ExactDistances& fns, const float* base, const IsResult& isResult,
               const float* q, int k, float* D, int64_t* I, Scratch& s) {
  const faiss::HNSW& hnsw = index.hnsw;
  faiss::maxheap_heapify(k, D, I);
  if (hnsw.entry_point != -1) {
    const QueryDistances<kNegate> dist(fns, base, index.d, q);
    s.visited.begin();
    storage_idx_t nearest = hnsw.entry_point;
    float dNearest = dist.one(nearest);
    for (int level = hnsw.max_level; level >= 1; level--) greedyUpdateNearest(hnsw, dist, level, nearest, dNearest, s);
    searchLevel0(hnsw, dist, isResult, k, D, I, nearest, dNearest, s);
  }
  faiss::maxheap_reorder(k, D, I);
}

bool isFlatStorage(const faiss::Index* storage) {
  if (!storage) return false;
  const std::type_info& t = typeid(*storage);
  return t == typeid(faiss::IndexFlat) || t == typeid(faiss::IndexFlatL2) || t == typeid(faiss::IndexFlatIP);
}

// The most neighbours a node has on any level: the size of a node's batch.
size_t maxNeighbours(const faiss::HNSW& hnsw) {
  int most = 0;
  for (size_t l = 0; l + 1 < hnsw.cum_nneighbor_per_level.size(); l++) most = std::max(most, hnsw.nb_neighbors(l));
  return static_cast<size_t>(most);
}

}  // namespace

Fit hnswSearchFit(const faiss::Index& index) {
  if (!kernelSwitches().hnswSearch.load(std::memory_order_relaxed)) return Fit::kNotItsSearch;
  if (typeid(index) != typeid(faiss::IndexHNSWFlat)) return Fit::kNotItsSearch;
  const auto& h = static_cast<const faiss::IndexHNSWFlat&>(index);
  if (h.metric_type != faiss::METRIC_L2 && h.metric_type != faiss::METRIC_INNER_PRODUCT) return Fit::kMetric;
  if (!isFlatStorage(h.storage) || h.storage->metric_type != h.metric_type) return Fit::kSettings;
  const auto& flat = static_cast<const faiss::IndexFlat&>(*h.storage);
  if (flat.d != h.d || flat.ntotal != h.ntotal || flat.code_size != h.d * sizeof(float)) return Fit::kSettings;
  if (h.reconstruct_from_neighbors != nullptr) return Fit::kSettings;
  const faiss::HNSW& g = h.hnsw;
  if (g.upper_beam != 1 || !g.search_bounded_queue || g.efSearch < 1) return Fit::kSettings;
  if (g.levels.size() != static_cast<size_t>(h.ntotal)) return Fit::kSettings;
  return Fit::kAnswers;
}

namespace {

template <class IsResult>
void searchAll(const faiss::IndexHNSW& index, const IsResult& isResult, int64_t n, const float* x, int64_t k,
               float* distances, int64_t* labels) {
  FAISS_THROW_IF_NOT(k > 0 && k <= INT_MAX);
  const bool ip = index.metric_type == faiss::METRIC_INNER_PRODUCT;
  const ExactDistances& fns = exactDistances(ip ? DistanceKind::kInnerProduct : DistanceKind::kL2);
  const float* base = static_cast<const faiss::IndexFlat&>(*index.storage).get_xb();
  const size_t batchSize = maxNeighbours(index.hnsw);
  const size_t d = index.d;

  const int ef = std::max(index.hnsw.efSearch, static_cast<int>(k));
  // Each step reads a neighbour list and ~10 vectors from anywhere in these.
  adviseHugePages(base, static_cast<size_t>(index.ntotal) * d * sizeof(float));
  adviseHugePages(index.hnsw.neighbors.data(), index.hnsw.neighbors.size() * sizeof(storage_idx_t));

  // Queries are handed out one at a time from a shared counter rather than by
  // an OpenMP for: a thread whose buffers cannot be allocated leaves at once
  // with the error, and no thread waits at a barrier for it.
  std::atomic<int64_t> nextQuery{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
#pragma omp parallel if (n > 1)
  {
    try {
      Scratch& s = threadScratch();
      s.reserve(static_cast<size_t>(index.ntotal), ef, batchSize);
      for (int64_t i; !failed.load(std::memory_order_relaxed) && (i = nextQuery++) < n;) {
        float* D = distances + i * k;
        int64_t* I = labels + i * k;
        if (ip) {
          searchOne<true>(index, fns, base, isResult, x + i * d, static_cast<int>(k), D, I, s);
        } else {
          searchOne<false>(index, fns, base, isResult, x + i * d, static_cast<int>(k), D, I, s);
        }
      }
      s.visited.trim();
    } catch (...) {
      failed = true;
#pragma omp critical(fp_hnsw_search_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);

  // IndexHNSW::search gives inner products back their sign, empty slots included.
  if (ip)
    for (int64_t i = 0; i < n * k; i++) distances[i] = -distances[i];
}

}  // namespace

void hnswSearch(const faiss::IndexHNSW& index, int64_t n, const float* x, int64_t k, float* distances,
                int64_t* labels, const faiss::IDSelector* sel) {
  // Two instantiations, so that the unfiltered search asks nothing per neighbour.
  if (sel) {
    searchAll(index, SelectedVector(*sel), n, x, k, distances, labels);
  } else {
    searchAll(index, AnyVector{}, n, x, k, distances, labels);
  }
}

}  // namespace fp
