// searchSubset(x, k, labels): the exact k nearest among the stored vectors of the
// given labels, for a filtered search whose filter keeps few points (the
// collections' query planner, lib/collections/planner.ts). It costs a distance
// per given label, not a pass over the index: FAISS's search with an IDSelector
// asks the selector about every vector it meets (Flat: every one), and an HNSW
// or IVF search with few selected vectors meets few of them (short_answers.h).
//
// Distances come from the index's own: an HNSW graph's storage and flat / SQ /
// PQ codes through FAISS's distance computer over the codes (the search's own
// distance), IVF through its direct map (reconstruct: exact for IVFFlat, the
// decoded vector for IVFPQ / IVF-SQ). Through an IndexIDMap2, labels are
// translated to positions by its reverse map; a plain IndexIDMap has none and
// is refused, as are a pre-transform and other metrics than L2 and inner
// product. Results are in FAISS's final form (L2: squared distance, smallest
// first; inner product: similarity, largest first), -1 where fewer than k exist.
//
// Float vectors stored in place (an HNSW graph's IndexFlat, an IndexFlat) are read
// directly: the subset's vectors lie anywhere in the index, so each is a miss from
// memory, asked for several vectors ahead, and four distances are computed at a
// time (kernels/exact_distances.h: FAISS's own, bit for bit). Labels given in
// increasing order through an IDMap2 whose ids are unique are found in its id
// table near where the last one was, before its hash map (two misses a label).
// A cold 1% filter of 200,000 points (2,000 labels) spent most of its search in
// these misses (bench/RESULTS.md, ninth session, hnswcold18).
#include <faiss/IndexFlat.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "../args.h"
#include "../index_type.h"
#include "../kernels/exact_distances.h"
#include "../kernels/helper_thread.h"
#include "../search_cost.h"
#include "../threads.h"
#include "promise_worker.h"
#include "search_result.h"
#include "workers.h"

namespace fp {
namespace {

// Distances from one query to stored vectors by position (or IVF id).
class SubsetDistance {
 public:
  virtual ~SubsetDistance() = default;
  virtual void setQuery(const float* q) = 0;
  virtual float operator()(int64_t position) = 0;
};

class FaissDistance : public SubsetDistance {
 public:
  explicit FaissDistance(faiss::DistanceComputer* dis) : dis_(dis) {}
  void setQuery(const float* q) override { dis_->set_query(q); }
  float operator()(int64_t position) override { return (*dis_)(position); }

 private:
  std::unique_ptr<faiss::DistanceComputer> dis_;
};

// IVF: the stored vector of an id through the direct map, decoded.
class IvfDistance : public SubsetDistance {
 public:
  explicit IvfDistance(const faiss::IndexIVF& index) : index_(index), row_(index.d) {}
  void setQuery(const float* q) override { q_ = q; }
  float operator()(int64_t id) override {
    index_.reconstruct(id, row_.data());
    return index_.metric_type == faiss::METRIC_INNER_PRODUCT ? faiss::fvec_inner_product(q_, row_.data(), index_.d)
                                                             : faiss::fvec_L2sqr(q_, row_.data(), index_.d);
  }

 private:
  const faiss::IndexIVF& index_;
  std::vector<float> row_;
  const float* q_ = nullptr;
};

[[noreturn]] void unsupported(const faiss::Index& index, const std::string& why) {
  throw ArgumentError(code::kUnsupported, "searchSubset: " + indexTypeName(index) + " " + why);
}

[[noreturn]] void unknownLabel(int64_t label) {
  throw ArgumentError(code::kInvalidArgument, "searchSubset: no stored vector has label " + std::to_string(label));
}

// What a subset search of `index` reads: the index holding the vectors, and the
// given labels as its positions (IVF: its ids, each checked in the direct map).
struct Subset {
  const faiss::Index* storage = nullptr;
  std::vector<int64_t> positions;
};

bool knownToIvf(const faiss::IndexIVF& ivf, int64_t id) {
  const faiss::DirectMap& dm = ivf.direct_map;
  if (dm.type == faiss::DirectMap::Array) return id >= 0 && id < static_cast<int64_t>(dm.array.size()) && dm.array[id] >= 0;
  return dm.hashtable.count(id) > 0;
}

Subset subsetOf(const faiss::Index& index, const int64_t* labels, int64_t m) {
  Subset s;
  s.positions.resize(m);
  const auto* map = dynamic_cast<const faiss::IndexIDMap*>(&index);
  if (map && !dynamic_cast<const faiss::IndexIDMap2*>(map))
    unsupported(index, "has no reverse map from ids to vectors (IndexIDMap2 has)");
  s.storage = map ? map->index : &index;
  const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(s.storage);
  if (ivf && ivf->direct_map.type == faiss::DirectMap::NoMap && !map)
    unsupported(index, "has no direct map from ids to vectors (makeDirectMap() makes one)");
  const auto* map2 = static_cast<const faiss::IndexIDMap2*>(map);
  // Each id once (the reverse map has an entry per id, the id table one per vector): a position whose id is
  // the label is then the one the reverse map gives.
  const bool uniqueIds = map2 && map2->rev_map.size() == map2->id_map.size();
  // Labels added in increasing order sit at a steady offset from their position until removed ones shift it.
  int64_t shift = 0;
  for (int64_t i = 0; i < m; i++) {
    const int64_t label = labels[i];
    if (i > 0 && label <= labels[i - 1])
      throw ArgumentError(code::kInvalidArgument, "searchSubset: labels must be in increasing order without repeats (labels[" +
                                                      std::to_string(i) + "] = " + std::to_string(label) + ")");
    int64_t position = label;
    if (map2) {
      const int64_t guess = label - shift;
      if (uniqueIds && guess >= 0 && guess < static_cast<int64_t>(map2->id_map.size()) && map2->id_map[guess] == label) {
        position = guess;
      } else {
        auto it = map2->rev_map.find(label);
        if (it == map2->rev_map.end()) unknownLabel(label);
        position = it->second;
        shift = label - position;
      }
    }
    // An IVF index's ids are checked in its direct map (distanceOf); other storage is positional.
    if (!ivf && (position < 0 || position >= s.storage->ntotal)) unknownLabel(label);
    s.positions[i] = position;
  }
  return s;
}

// Inner indexes under an IDMap2 are positional, so an IVF there is searched by
// its own ids (which the IDMap2 gave it as positions): known if in its direct map.
std::unique_ptr<SubsetDistance> distanceOf(const faiss::Index& storage, const Subset& s) {
  if (storage.metric_type != faiss::METRIC_L2 && storage.metric_type != faiss::METRIC_INNER_PRODUCT)
    unsupported(storage, "searches with a metric other than L2 and inner product");
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&storage)) {
    if (!hnsw->storage) unsupported(storage, "has no storage");
    return std::make_unique<FaissDistance>(hnsw->storage->get_distance_computer());
  }
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&storage)) {
    if (ivf->direct_map.type == faiss::DirectMap::NoMap)
      unsupported(storage, "has no direct map from ids to vectors (makeDirectMap() makes one)");
    for (int64_t id : s.positions)
      if (!knownToIvf(*ivf, id)) unknownLabel(id);
    return std::make_unique<IvfDistance>(*ivf);
  }
  if (dynamic_cast<const faiss::IndexFlatCodes*>(&storage)) {
    try {
      return std::make_unique<FaissDistance>(storage.get_distance_computer());
    } catch (const faiss::FaissException&) {
      unsupported(storage, "has no distance computer over its codes in FAISS 1.7.3");
    }
  }
  unsupported(storage, "cannot compute the distance to one stored vector (Flat, SQ, PQ, HNSW and IVF with a direct map can)");
}

// The float vectors of `storage` when they are stored in place and searched with their own metric, else null.
const faiss::IndexFlat* flatVectorsOf(const faiss::Index& storage) {
  const faiss::Index* flat = &storage;
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&storage)) flat = hnsw->storage;
  if (!flat) return nullptr;
  const std::type_info& t = typeid(*flat);
  if (t != typeid(faiss::IndexFlat) && t != typeid(faiss::IndexFlatL2) && t != typeid(faiss::IndexFlatIP)) return nullptr;
  if (flat->metric_type != storage.metric_type || flat->d != storage.d || flat->ntotal != storage.ntotal) return nullptr;
  return static_cast<const faiss::IndexFlat*>(flat);
}

// Vectors asked for ahead of their distance, and the lines of each asked for: 16 vectors of 4 lines cost 2,000
// scattered 128-d vectors a third less CPU time than none (a scratch C++ loop over 100 MB on huge pages); the
// hardware prefetcher follows a vector's later lines (kernels/hnsw_distances.h).
constexpr int64_t kAheadVectors = 16;
constexpr size_t kAheadLines = 4;

// Labels per chunk of a one-query search shared with the kernels' helper thread (kernels/helper_thread.h): each
// label is a miss from memory (~0.1 us), so that a chunk (~6 us) is long beside claiming it and short beside the
// search (2,000 labels, ~230 us from memory: bench:collections, "1% cold"). A multiple of 4 (fns.four's group).
constexpr int64_t kChunkLabels = 64;

// One query over float vectors in place: `nearest`'s distances, four at a time, in chunks.
struct FlatSubset {
  const ExactDistances& fns;
  const float* base;
  size_t d;
  const std::vector<int64_t>& positions;
  const float* q;
  size_t lines;

  int64_t size() const { return static_cast<int64_t>(positions.size()); }
  const float* vector(int64_t i) const { return base + static_cast<size_t>(positions[i]) * d; }
  void prefetch(int64_t i) const {
    const char* p = reinterpret_cast<const char*>(vector(i));
    for (size_t l = 0; l < lines; l++) __builtin_prefetch(p + 64 * l, 0, 3);
  }

  // The distances of labels [from, to) to `take(i, distance)` in order, the vectors asked for kAheadVectors
  // ahead (past `to` too: the next chunk's, most often this thread's next).
  template <class Take>
  void distances(int64_t from, int64_t to, Take&& take) const {
    const int64_t m = size();
    for (int64_t i = from; i < std::min(m, from + kAheadVectors); i++) prefetch(i);
    for (int64_t i = from; i < to; i += 4) {
      for (int64_t j = i + kAheadVectors; j < std::min(m, i + kAheadVectors + 4); j++) prefetch(j);
      const int64_t count = std::min<int64_t>(4, to - i);
      // The last one to three padded with the last vector (each distance is computed on its own).
      const float* y[4];
      for (int64_t t = 0; t < 4; t++) y[t] = vector(i + std::min(t, count - 1));
      float four[4];
      fns.four(q, y, d, four);
      for (int64_t t = 0; t < count; t++) take(i + t, four[t]);
    }
  }
};

template <typename C>
struct SharedSubsetSearch {
  const FlatSubset& subset;
  const int64_t* labels;
  int64_t k;
  float* heapDistances;
  int64_t* heapLabels;
  // The helper's distances, by label index: read only for the chunks it took.
  std::vector<float> buffered;

  void push(int64_t i, float distance) {
    if (C::cmp(heapDistances[0], distance)) faiss::heap_replace_top<C>(k, heapDistances, heapLabels, distance, labels[i]);
  }
  int64_t end(size_t chunk) const { return std::min(subset.size(), static_cast<int64_t>(chunk + 1) * kChunkLabels); }
  static void front(void* context, size_t chunk) noexcept {
    auto& job = *static_cast<SharedSubsetSearch*>(context);
    job.subset.distances(static_cast<int64_t>(chunk) * kChunkLabels, job.end(chunk), [&](int64_t i, float dis) { job.push(i, dis); });
  }
  static void back(void* context, size_t chunk) noexcept {
    auto& job = *static_cast<SharedSubsetSearch*>(context);
    job.subset.distances(static_cast<int64_t>(chunk) * kChunkLabels, job.end(chunk), [&](int64_t i, float dis) { job.buffered[i] = dis; });
  }
};

// `nearest` over float vectors in place: the same distances in the same order into the same heap. One query
// (`share`: oneQueryMayShare) gives the last chunks to the helper thread, whose distances wait in a buffer and enter
// the heap after this thread's chunks, in label order: the heap sees what the loop alone would, so the answer (ties
// included) does not depend on whether the helper took part.
template <typename C>
void nearestFlat(const ExactDistances& fns, const float* base, size_t d, const std::vector<int64_t>& positions,
                 const int64_t* labels, const float* q, int64_t k, float* distances, int64_t* out, bool share) {
  faiss::heap_heapify<C>(k, distances, out);
  const FlatSubset subset{fns, base, d, positions, q, std::min(kAheadLines, (d * sizeof(float) + 63) / 64)};
  const int64_t m = subset.size();
  SharedSubsetSearch<C> job{subset, labels, k, distances, out, {}};
  const size_t chunks = static_cast<size_t>((m + kChunkLabels - 1) / kChunkLabels);
  // runChunks takes fewer than 2^16 chunks (4M labels): a larger subset is searched on this thread alone.
  if (share && chunks >= 2 && chunks < (size_t{1} << 16)) {
    job.buffered.resize(static_cast<size_t>(m));
    const size_t taken = runChunks(chunks, true, &SharedSubsetSearch<C>::front, &SharedSubsetSearch<C>::back, &job);
    for (int64_t i = static_cast<int64_t>(taken) * kChunkLabels; i < m; i++) job.push(i, job.buffered[i]);
  } else {
    subset.distances(0, m, [&](int64_t i, float dis) { job.push(i, dis); });
  }
  faiss::heap_reorder<C>(k, distances, out);
}

template <typename C>
void nearest(SubsetDistance& dis, const std::vector<int64_t>& positions, const int64_t* labels, const float* q, int64_t k,
             float* distances, int64_t* out) {
  dis.setQuery(q);
  faiss::heap_heapify<C>(k, distances, out);
  const int64_t m = static_cast<int64_t>(positions.size());
  for (int64_t i = 0; i < m; i++) {
    const float d = dis(positions[i]);
    if (C::cmp(distances[0], d)) faiss::heap_replace_top<C>(k, distances, out, d, labels[i]);
  }
  faiss::heap_reorder<C>(k, distances, out);
}

// The arguments (x, k, labels), checked on the JS thread, and the search itself,
// which runs the same way on a search lane (SearchSubsetWorker) and on the JS
// thread (searchSubsetInline).
struct SubsetCall {
  static constexpr int64_t kMaxK = 1 << 20;

  SubsetCall(const Napi::CallbackInfo& info, int64_t d)
      : x(floatRows(info[0], d, "x")), k(integerArg(info[1], "k", 1, kMaxK)), labels(idArray(info[2], -1, "labels")) {
    // The results, the positions (8 bytes a label) and the helper's distances of one query (4), held to the
    // per-call limit.
    requireWithinLimit("searchSubset", addBytes(mulBytes(mulBytes(x.n, k), 12), mulBytes(labels.n, 12)),
                       std::to_string(x.n) + " x " + std::to_string(k) + " results over " + std::to_string(labels.n) + " labels");
  }

  int64_t results() const { return x.n * k; }

  // What a one-query search over this many labels is timed under (search_cost.h): its size class.
  Tunables costKey() const {
    Tunables t;
    t.subsetSize = 1;
    while (t.subsetSize < labels.n) t.subsetSize *= 2;
    return t;
  }

  // Call with the index's lock held (shared), inside a ThreadScope. A one-query search is timed for the index's subsetSearchCost.
  void run(IndexHandle& h, float* distances, int64_t* out) const {
    const faiss::Index& index = *h.index();
    const int64_t dim = index.d;
    requireFinite(x.data, x.n * dim, dim, "x");
    const auto started = std::chrono::steady_clock::now();
    const Subset s = subsetOf(index, labels.data, labels.n);
    const int64_t n = x.n;
    const bool ip = s.storage->metric_type == faiss::METRIC_INNER_PRODUCT;
    const int nt = n > 1 ? omp_get_max_threads() : 1;
    if (const faiss::IndexFlat* flat = ip || s.storage->metric_type == faiss::METRIC_L2 ? flatVectorsOf(*s.storage) : nullptr) {
      const ExactDistances& fns = exactDistances(ip ? DistanceKind::kInnerProduct : DistanceKind::kL2);
      const float* base = flat->get_xb();
      // Several queries split across cores by query; one splits its labels with the helper thread.
      const bool share = n == 1 && oneQueryMayShare();
#pragma omp parallel for num_threads(nt) if (nt > 1)
      for (int64_t q = 0; q < n; q++) {
        if (ip) {
          nearestFlat<faiss::CMin<float, int64_t>>(fns, base, dim, s.positions, labels.data, x.data + q * dim, k, distances + q * k, out + q * k, share);
        } else {
          nearestFlat<faiss::CMax<float, int64_t>>(fns, base, dim, s.positions, labels.data, x.data + q * dim, k, distances + q * k, out + q * k, share);
        }
      }
    } else {
      // One distance (computer) per thread: they hold the query.
      std::vector<std::unique_ptr<SubsetDistance>> perThread;
      for (int t = 0; t < nt; t++) perThread.push_back(distanceOf(*s.storage, s));
#pragma omp parallel for num_threads(nt) if (nt > 1)
      for (int64_t q = 0; q < n; q++) {
        SubsetDistance& dis = *perThread[omp_get_thread_num()];
        if (ip) {
          nearest<faiss::CMin<float, int64_t>>(dis, s.positions, labels.data, x.data + q * dim, k, distances + q * k, out + q * k);
        } else {
          nearest<faiss::CMax<float, int64_t>>(dis, s.positions, labels.data, x.data + q * dim, k, distances + q * k, out + q * k);
        }
      }
    }
    if (n == 1) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
      h.subsetSearchCost().record(costKey(), index.ntotal, ns.count());
    }
  }

  FloatRows x;
  int64_t k;
  IdArray labels;
};

class SearchSubsetWorker : public IndexWorker {
 public:
  SearchSubsetWorker(Napi::Env env, IndexWrap& wrap, const Napi::CallbackInfo& info)
      : IndexWorker(env, "searchSubset", wrap), call_(info, d()), results_(call_.results()) {}

 private:
  void Run() override {
    ThreadScope threads(call_.x.n);
    SharedGuard guard(handle().lock());
    call_.run(handle(), results_.distances(), results_.labels());
  }

  Napi::Value Result(Napi::Env env) override { return results_.release(env); }

  SubsetCall call_;
  SearchResultArrays results_;
};

}  // namespace

Napi::Value startSearchSubset(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<SearchSubsetWorker, true>(info.Env(), wrap, info);
}

// On the JS thread by the rule of the inline k-NN search (workers/search_inline.cc):
// one query, recent one-query subset searches at least this large within the
// inline budget (search_cost.h; the index's own, by size class), and the index's
// lock free at once; otherwise undefined, and the caller queues the search. A
// filter that keeps few points is searched over them (lib/collections/planner.ts):
// at 200 or 2,000 points of d 128 a search costs less than the round trip to a
// search lane, which on an idle or busy machine waited longer than the search
// itself (bench/RESULTS.md, tenth session, planner18).
Napi::Value searchSubsetInline(IndexWrap& wrap, const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (inlineBudgetNs() <= 0) return env.Undefined();
  try {
    auto handle = wrap.handle();
    SubsetCall call(info, handle->index()->d);
    if (call.x.n != 1 || !handle->subsetSearchCost().fitsInline(call.costKey(), handle->ntotal())) return env.Undefined();
    if (!handle->lock().tryLockShared()) return env.Undefined();
    SearchResultArrays results(call.results());
    {
      SharedGuard guard(handle->lock(), SharedGuard::kAdopt);
      ThreadScope threads(1, 1);
      call.run(*handle, results.distances(), results.labels());
    }
    recordInlineSearch();
    return results.release(env);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeError(env, classifyCurrentException("searchSubset"));
  }
}

}  // namespace fp
