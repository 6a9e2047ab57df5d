#include "ivf_scan.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <vector>

#include "../selector_prefetch.h"
#include "../threads.h"
#include "exact_distances.h"
#include "helper_thread.h"
#include "switches.h"

namespace fp {
namespace {

using idx_t = faiss::Index::idx_t;

// A block of queries is scanned list by list into one distance buffer of at
// most this many floats (16 MB) per thread: larger blocks share more lists
// (bench:kernel-ivf).
constexpr size_t kBufferFloats = size_t{1} << 22;
constexpr size_t kMinVisitsPerList = 2;

// FAISS's distances for the index's metric (L2 or inner product).
const ExactDistances& distancesOf(const faiss::IndexIVFFlat& ivf) {
  return exactDistances(ivf.metric_type == faiss::METRIC_INNER_PRODUCT ? DistanceKind::kInnerProduct
                                                                       : DistanceKind::kL2);
}

Fit eligible(const faiss::Index& index) {
  if (!kernelSwitches().ivfScan.load(std::memory_order_relaxed)) return Fit::kNotItsSearch;
  if (typeid(index) != typeid(faiss::IndexIVFFlat)) return Fit::kNotItsSearch;
  const auto& ivf = static_cast<const faiss::IndexIVFFlat&>(index);
  if (ivf.metric_type != faiss::METRIC_L2 && ivf.metric_type != faiss::METRIC_INNER_PRODUCT) return Fit::kMetric;
  // Modes 1-3 merge per-thread heaps (other ties, and mode 1 ignores max_codes);
  // PARALLEL_MODE_NO_HEAP_INIT leaves the caller's heap as it is: FAISS's code.
  if (ivf.parallel_mode != 0) return Fit::kSettings;
  if (ivf.code_size != ivf.d * sizeof(float) || ivf.invlists == nullptr || ivf.quantizer == nullptr) return Fit::kSettings;
  const auto& lists = typeid(*ivf.invlists);
  if (lists != typeid(faiss::ArrayInvertedLists) && lists != typeid(faiss::OnDiskInvertedLists)) return Fit::kSettings;
  if (!distancesOf(ivf).replica) return Fit::kDistances;
  return Fit::kAnswers;
}

// The call's nprobe (negative: the index's), as FAISS bounds it by nlist.
size_t probeCount(const faiss::IndexIVFFlat& ivf, int64_t nprobe) {
  if (nprobe < 0) nprobe = static_cast<int64_t>(ivf.nprobe);
  return std::min<size_t>(ivf.nlist, static_cast<size_t>(std::max<int64_t>(nprobe, 0)));
}

// One probe of one query: a list FAISS would scan, and where its distances go.
struct Probe {
  idx_t list;
  size_t size;
  size_t offset;  // of its first vector among the query's scanned vectors
};

// The probes FAISS's search_preassigned scans for one query, in its order: it
// skips missing (-1) and empty lists, refuses a list number past nlist, and stops
// once max_codes vectors have been scanned (after the list that reaches it).
std::vector<Probe> probesOf(const faiss::IndexIVFFlat& ivf, const idx_t* keys, size_t nprobe, size_t maxCodes) {
  std::vector<Probe> probes;
  probes.reserve(nprobe);
  size_t nscan = 0;
  for (size_t ik = 0; ik < nprobe; ik++) {
    const idx_t key = keys[ik];
    if (key >= 0) {
      FAISS_THROW_IF_NOT_FMT(key < static_cast<idx_t>(ivf.nlist), "Invalid key=%" PRId64 " nlist=%zd\n", key, ivf.nlist);
      const size_t size = ivf.invlists->list_size(key);
      if (size > 0) {
        probes.push_back({key, size, nscan});
        nscan += size;
      }
    }
    if (maxCodes && nscan >= maxCodes) break;
  }
  return probes;
}

// FAISS's heap update for one list: a vector enters when strictly better than the
// current worst (IVFFlatScanner::scan_codes).
template <class C>
inline void pushList(size_t k, float* simi, idx_t* idxi, const float* dis, const idx_t* ids, size_t count) {
  for (size_t j = 0; j < count; j++) {
    if (C::cmp(simi[0], dis[j])) faiss::heap_replace_top<C>(k, simi, idxi, dis[j], ids[j]);
  }
}

// The scanned lists' vectors of one query; 0 when it probes none.
size_t scanned(const std::vector<Probe>& probes) {
  return probes.empty() ? 0 : probes.back().offset + probes.back().size;
}

// A query whose lists alone fill the buffer: scanned by itself, a buffer's worth
// of a list at a time, as FAISS does.
template <class C>
void scanAlone(const faiss::IndexIVFFlat& ivf, const float* q, size_t k, const std::vector<Probe>& probes, float* buf,
               float* simi, idx_t* idxi) {
  const ExactDistances& dist = distancesOf(ivf);
  faiss::heap_heapify<C>(k, simi, idxi);
  for (const Probe& p : probes) {
    faiss::InvertedLists::ScopedCodes codes(ivf.invlists, p.list);
    faiss::InvertedLists::ScopedIds ids(ivf.invlists, p.list);
    const float* vectors = reinterpret_cast<const float*>(codes.get());
    for (size_t j0 = 0; j0 < p.size; j0 += kBufferFloats) {
      const size_t count = std::min(kBufferFloats, p.size - j0);
      dist.queriesRows(&q, 1, vectors + j0 * ivf.d, count, ivf.d, &buf);
      pushList<C>(k, simi, idxi, buf, ids.get() + j0, count);
    }
  }
  faiss::heap_reorder<C>(k, simi, idxi);
}

// One probe of a block, for the list-by-list pass.
struct Visit {
  idx_t list;
  size_t size;
  const float* query;
  float* out;  // where its distances go in the buffer
};

// Queries [i0, i1) of a slice, whose lists together fit the buffer: every list
// any of them probes is read once, for all of them; then each query's heap takes
// its distances in its own probe order.
template <class C>
void scanBlock(const faiss::IndexIVFFlat& ivf, const float* x, size_t k, const std::vector<std::vector<Probe>>& probes,
               int64_t i0, int64_t i1, float* buf, float* distances, idx_t* labels) {
  const ExactDistances& dist = distancesOf(ivf);
  std::vector<Visit> visits;
  std::vector<size_t> base(i1 - i0);
  size_t at = 0;
  for (int64_t i = i0; i < i1; i++) {
    base[i - i0] = at;
    for (const Probe& p : probes[i]) visits.push_back({p.list, p.size, x + i * ivf.d, buf + at + p.offset});
    at += scanned(probes[i]);
  }
  std::stable_sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.list < b.list; });
  std::vector<const float*> queries;
  std::vector<float*> outs;
  for (size_t v0 = 0, v1; v0 < visits.size(); v0 = v1) {
    queries.clear();
    outs.clear();
    for (v1 = v0; v1 < visits.size() && visits[v1].list == visits[v0].list; v1++) {
      queries.push_back(visits[v1].query);
      outs.push_back(visits[v1].out);
    }
    faiss::InvertedLists::ScopedCodes codes(ivf.invlists, visits[v0].list);
    dist.queriesRows(queries.data(), queries.size(), reinterpret_cast<const float*>(codes.get()), visits[v0].size,
                     ivf.d, outs.data());
  }
  for (int64_t i = i0; i < i1; i++) {
    float* simi = distances + i * k;
    idx_t* idxi = labels + i * k;
    faiss::heap_heapify<C>(k, simi, idxi);
    for (const Probe& p : probes[i]) {
      faiss::InvertedLists::ScopedIds ids(ivf.invlists, p.list);
      pushList<C>(k, simi, idxi, buf + base[i - i0] + p.offset, ids.get(), p.size);
    }
    faiss::heap_reorder<C>(k, simi, idxi);
  }
}

// Queries [0, n) of a slice, as IndexIVF::search's sub_search_func: the
// quantizer assigns the whole slice, then its queries are scanned in blocks.
template <class C>
void searchSlice(const faiss::IndexIVFFlat& ivf, size_t nprobe, int64_t n, const float* x, size_t k, float* distances,
                 idx_t* labels) {
  std::unique_ptr<idx_t[]> keys(new idx_t[n * nprobe]);
  std::unique_ptr<float[]> coarse(new float[n * nprobe]);
  ivf.quantizer->search(n, x, nprobe, coarse.get(), keys.get());
  ivf.invlists->prefetch_lists(keys.get(), n * nprobe);
  std::vector<std::vector<Probe>> probes(n);
  size_t all = 0;
  for (int64_t i = 0; i < n; i++) {
    probes[i] = probesOf(ivf, keys.get() + i * nprobe, nprobe, ivf.max_codes);
    all += scanned(probes[i]);
  }
  std::vector<float> buf(std::min(kBufferFloats, std::max<size_t>(all, 1)));
  for (int64_t i0 = 0; i0 < n;) {
    if (scanned(probes[i0]) > buf.size()) {
      scanAlone<C>(ivf, x + i0 * ivf.d, k, probes[i0], buf.data(), distances + i0 * k, labels + i0 * k);
      i0++;
      continue;
    }
    int64_t i1 = i0;
    for (size_t total = 0; i1 < n && total + scanned(probes[i1]) <= buf.size(); i1++) total += scanned(probes[i1]);
    scanBlock<C>(ivf, x, k, probes, i0, i1, buf.data(), distances, labels);
    i0 = i1;
  }
}

template <class C>
void search(const faiss::IndexIVFFlat& ivf, size_t nprobe, int64_t n, const float* x, size_t k, float* distances,
            idx_t* labels) {
  // FAISS's slices: one per thread, each assigned by the quantizer on its own
  // (the quantizer answers a slice of under 20 queries without BLAS, so the
  // slicing decides which near-equal centroids come first).
  const int nt = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), n));
  std::mutex m;
  std::string error;
#pragma omp parallel for if (nt > 1)
  for (int slice = 0; slice < nt; slice++) {
    const int64_t i0 = n * slice / nt;
    const int64_t i1 = n * (slice + 1) / nt;
    if (i1 <= i0) continue;
    try {
      searchSlice<C>(ivf, nprobe, i1 - i0, x + i0 * ivf.d, k, distances + i0 * k, labels + i0 * k);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(m);
      error = e.what();
    }
  }
  if (!error.empty()) FAISS_THROW_MSG(error);
}


// ---------------------------------------------------------------------------
// One query. FAISS scans its lists on one core, and one query is bound by memory
// (its ~4,700 vectors of 512 bytes on bench:faiss's IVF1024,Flat at nprobe 16,
// mostly not in cache). Here the probed rows are cut into chunks, taken from the
// front by this thread, which feeds each distance to the heap as it computes it
// (FAISS's own loop), and from the back by the kernels' helper thread
// (helper_thread.h), which leaves its distances in a buffer; the heap then takes
// those, in order, after this thread's. So the heap sees every distance in
// FAISS's order, list after list as the query probes them, whoever computed
// it: FAISS's answers. A filtered query (a selector) takes the same way: in each
// chunk its rows' ids are asked about in order, as FAISS's IVFFlatScanner asks,
// and only the selected rows' distances are computed and reach the heap. Where
// the quantizer is a flat index, its step is FAISS's too, without FAISS's
// per-call overheads: its centroids in id order into FAISS's result handler.
// ---------------------------------------------------------------------------

// Rows per chunk: small enough that the two threads finish close together, large
// enough that claiming one (a compare-and-swap on a line both cores use, ~0.1-0.2
// us on this VM) is noise beside computing it (128 KB of 128-d vectors, ~5 us).
constexpr size_t kChunkRows = 256;
// Rows whose distances one pass may leave in the buffer (256 KB of floats); a
// query probing more takes several passes, each shared.
constexpr size_t kPassRows = size_t{1} << 16;

struct Chunk;

// A thread's buffers for its one-query searches, kept between them: allocating
// (and first touching) them per search measured a few percent of a search.
struct OneQueryScratch {
  std::vector<float> buf;  // the helper's distances
  std::vector<uint8_t> selected;  // and, in a filtered search, which rows they are for
  std::vector<Chunk> chunks;
  std::vector<idx_t> keys;
  std::vector<float> coarse;
  std::vector<const uint8_t*> codes;
  std::vector<const idx_t*> ids;
  // At most this many floats stay allocated between searches (a pass's worth).
  void trim() {
    if (buf.size() > kPassRows) std::vector<float>().swap(buf);
    if (selected.size() > kPassRows) std::vector<uint8_t>().swap(selected);
  }
};
OneQueryScratch& oneQueryScratch() {
  static thread_local OneQueryScratch scratch;
  return scratch;
}
float* bufferOf(size_t n) {
  std::vector<float>& buf = oneQueryScratch().buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}
uint8_t* selectedOf(size_t n) {
  std::vector<uint8_t>& selected = oneQueryScratch().selected;
  if (selected.size() < n) selected.resize(n);
  return selected.data();
}
// `count` rows of d floats; the helper leaves their distances at `out`.
struct Chunk {
  const float* rows;
  size_t count;
  float* out;
  const idx_t* ids;  // the rows' labels; null: firstId, firstId + 1, ... (the quantizer's centroids)
  idx_t firstId;
  uint8_t* selected;  // a filtered search's: whether the helper found row j selected (out[j] is its distance)
  idx_t id(size_t j) const { return ids ? ids[j] : firstId + static_cast<idx_t>(j); }
};

// FAISS's result handler for one query, fed in FAISS's order: a heap of k whose
// top a distance replaces when strictly better (HeapResultHandler, and
// IVFFlatScanner::scan_codes), or, for the L2 quantizer at k = 1,
// SingleBestResultHandler (the first strictly smallest).
template <class C>
struct Results {
  size_t k;
  float* dis;
  idx_t* ids;
  bool singleBest;
  void add(float d, idx_t id) {
    if (singleBest) {
      if (d < dis[0]) {
        dis[0] = d;
        ids[0] = id;
      }
    } else if (C::cmp(dis[0], d)) {
      faiss::heap_replace_top<C>(k, dis, ids, d, id);
    }
  }
};

template <class C>
struct DistanceJob {
  const ExactDistances* fns;
  const float* query;
  size_t d;
  std::vector<Chunk>& chunks;
  Results<C> results;
  // A filtered search's selector: FAISS's IVFFlatScanner asks it about each row's id, and computes the distances of
  // the rows it selects only. `ahead`: the same where it asks ahead for what it reads (selector_prefetch.h).
  const faiss::IDSelector* sel = nullptr;
  const PrefetchingSelector* ahead = nullptr;
};

// A list's ids are in a row, but the selector's memory of each (a payload column's value) and each selected row's
// vector lie anywhere: asked for this many ids and selected rows ahead.
constexpr size_t kAheadIds = 16;
constexpr size_t kAheadRows = 4;

// The rows of chunk `c` the job's selector selects, into `rows` (their indices, in order); how many.
template <class C>
size_t selectedRows(const DistanceJob<C>& job, const Chunk& c, uint16_t* rows) {
  size_t n = 0;
  if (job.ahead)
    for (size_t j = 0; j < std::min(c.count, kAheadIds); j++) job.ahead->prefetch(c.id(j));
  for (size_t j = 0; j < c.count; j++) {
    if (job.ahead) {
      if (j + kAheadIds < c.count) job.ahead->prefetch(c.id(j + kAheadIds));
      // Halfway: what the first read found leads to (through an IDMap: the selection's memory of the id).
      if (j + kAheadIds / 2 < c.count) job.ahead->prefetchNext(c.id(j + kAheadIds / 2));
    }
    if (job.sel->is_member(c.id(j))) rows[n++] = static_cast<uint16_t>(j);
  }
  return n;
}

// The distances of the selected `rows` of chunk `c` to `take(j, distance)`, in order.
template <class C, class Take>
void selectedDistances(const DistanceJob<C>& job, const Chunk& c, const uint16_t* rows, size_t n, Take&& take) {
  const size_t lines = (job.d * sizeof(float) + 63) / 64;
  auto prefetchRow = [&](size_t r) {
    const char* p = reinterpret_cast<const char*>(c.rows + rows[r] * job.d);
    for (size_t l = 0; l < lines; l++) __builtin_prefetch(p + 64 * l, 0, 3);
  };
  for (size_t r = 0; r < std::min(n, kAheadRows); r++) prefetchRow(r);
  for (size_t r = 0; r < n; r++) {
    if (r + kAheadRows < n) prefetchRow(r + kAheadRows);
    take(rows[r], job.fns->one(job.query, c.rows + rows[r] * job.d, job.d));
  }
}

// This thread's chunks: each distance to the result handler as it comes.
template <class C>
void frontChunk(void* context, size_t i) noexcept {
  auto& job = *static_cast<DistanceJob<C>*>(context);
  const Chunk& c = job.chunks[i];
  if (job.sel) {
    uint16_t rows[kChunkRows];
    const size_t n = selectedRows(job, c, rows);
    selectedDistances(job, c, rows, n, [&](size_t j, float dis) { job.results.add(dis, c.id(j)); });
    return;
  }
  for (size_t j = 0; j < c.count; j++) job.results.add(job.fns->one(job.query, c.rows + j * job.d, job.d), c.id(j));
}

// The helper's: distances to the buffer (a filtered search's, with which rows they are for).
template <class C>
void backChunk(void* context, size_t i) noexcept {
  const auto& job = *static_cast<const DistanceJob<C>*>(context);
  const Chunk& c = job.chunks[i];
  if (job.sel) {
    uint16_t rows[kChunkRows];
    const size_t n = selectedRows(job, c, rows);
    std::fill(c.selected, c.selected + c.count, uint8_t{0});
    selectedDistances(job, c, rows, n, [&](size_t j, float dis) {
      c.out[j] = dis;
      c.selected[j] = 1;
    });
    return;
  }
  for (size_t j = 0; j < c.count; j++) c.out[j] = job.fns->one(job.query, c.rows + j * job.d, job.d);
}

// Appends rows [0, count) in chunks, their distances (if the helper takes them) to out[0, count) (in a filtered
// search, whether each row is selected to selected[0, count)).
template <class C>
void addChunks(DistanceJob<C>& job, const float* rows, size_t count, float* out, const idx_t* ids, idx_t firstId,
               uint8_t* selected = nullptr) {
  for (size_t j = 0; j < count; j += kChunkRows)
    job.chunks.push_back({rows + j * job.d, std::min(kChunkRows, count - j), out + j, ids ? ids + j : nullptr,
                          firstId + static_cast<idx_t>(j), selected ? selected + j : nullptr});
}

// Every chunk's distances into the result handler, in chunk order.
template <class C>
void runJob(DistanceJob<C>& job, bool share) {
  const size_t taken = runChunks(job.chunks.size(), share, &frontChunk<C>, &backChunk<C>, &job);
  for (size_t i = taken; i < job.chunks.size(); i++) {
    const Chunk& c = job.chunks[i];
    for (size_t j = 0; j < c.count; j++)
      if (!job.sel || c.selected[j]) job.results.add(c.out[j], c.id(j));
  }
}

// The quantizer's search for one query where it is a flat index whose result
// handler this reproduces (IndexFlat::search with nx = 1: FAISS's distance per
// centroid in id order into a HeapResultHandler, or a SingleBestResultHandler
// for L2 and k = 1; a reservoir, from distance_compute_min_k_reservoir on, is
// not reproduced); false, having done nothing, otherwise. On this thread alone:
// the centroids (512 KB on IVF1024 at d 128, in cache between searches) take ~9
// us, not worth the second core's claims.
template <class C>
void assignWith(const faiss::IndexFlat& flat, DistanceKind kind, const float* x, size_t nprobe, float* coarse,
                idx_t* keys) {
  const ExactDistances& fns = exactDistances(kind);
  const size_t n = static_cast<size_t>(flat.ntotal), d = static_cast<size_t>(flat.d);
  const float* xb = flat.get_xb();
  Results<C> results{nprobe, coarse, keys, kind == DistanceKind::kL2 && nprobe == 1};
  if (results.singleBest) {
    coarse[0] = HUGE_VALF;
    keys[0] = 0;
  } else {
    faiss::heap_heapify<C>(nprobe, coarse, keys);
  }
  for (size_t j = 0; j < n; j++) results.add(fns.one(x, xb + j * d, d), static_cast<idx_t>(j));
  if (!results.singleBest) faiss::heap_reorder<C>(nprobe, coarse, keys);
}

bool assignOwn(const faiss::Index& quantizer, const float* x, size_t nprobe, float* coarse, idx_t* keys) {
  const std::type_info& type = typeid(quantizer);
  if (type != typeid(faiss::IndexFlat) && type != typeid(faiss::IndexFlatL2) && type != typeid(faiss::IndexFlatIP))
    return false;
  const auto& flat = static_cast<const faiss::IndexFlat&>(quantizer);
  if (nprobe >= static_cast<size_t>(faiss::distance_compute_min_k_reservoir)) return false;
  if (flat.code_size != flat.d * sizeof(float)) return false;
  if (flat.metric_type == faiss::METRIC_INNER_PRODUCT) {
    assignWith<faiss::CMin<float, idx_t>>(flat, DistanceKind::kInnerProduct, x, nprobe, coarse, keys);
  } else if (flat.metric_type == faiss::METRIC_L2) {
    assignWith<faiss::CMax<float, idx_t>>(flat, DistanceKind::kL2, x, nprobe, coarse, keys);
  } else {
    return false;
  }
  return true;
}

// What IndexIVF::search answers for one query x (parallel_mode 0: one slice,
// the quantizer's search, then search_preassigned's scan of the probed lists).
// The probed lists' vectors and ids for the search's length (ArrayInvertedLists
// and OnDiskInvertedLists hand out pointers; the helper thread only reads them).
class HeldLists {
 public:
  HeldLists(const faiss::InvertedLists* lists, const std::vector<Probe>& probes, OneQueryScratch& s)
      : lists_(lists), probes_(probes), s_(s) {
    s.codes.clear();
    s.ids.clear();
    for (const Probe& p : probes) {
      s.codes.push_back(lists->get_codes(p.list));
      s.ids.push_back(lists->get_ids(p.list));
    }
  }
  ~HeldLists() {
    for (size_t i = 0; i < s_.codes.size(); i++) {
      lists_->release_codes(probes_[i].list, s_.codes[i]);
      lists_->release_ids(probes_[i].list, s_.ids[i]);
    }
  }
  HeldLists(const HeldLists&) = delete;
  HeldLists& operator=(const HeldLists&) = delete;
  const float* vectors(size_t i) const { return reinterpret_cast<const float*>(s_.codes[i]); }
  const idx_t* ids(size_t i) const { return s_.ids[i]; }

 private:
  const faiss::InvertedLists* lists_;
  const std::vector<Probe>& probes_;
  OneQueryScratch& s_;
};

// What IndexIVF::search answers for one query x (parallel_mode 0: one slice,
// the quantizer's search, then search_preassigned's scan of the probed lists).
template <class C>
void searchOne(const faiss::IndexIVFFlat& ivf, size_t nprobe, const float* x, size_t k, float* simi, idx_t* idxi,
               const faiss::IDSelector* sel) {
  const bool share = oneQueryMayShare();
  OneQueryScratch& s = oneQueryScratch();
  s.keys.resize(nprobe);
  s.coarse.resize(nprobe);
  if (!assignOwn(*ivf.quantizer, x, nprobe, s.coarse.data(), s.keys.data()))
    ivf.quantizer->search(1, x, static_cast<idx_t>(nprobe), s.coarse.data(), s.keys.data());
  ivf.invlists->prefetch_lists(s.keys.data(), static_cast<int>(nprobe));
  const std::vector<Probe> probes = probesOf(ivf, s.keys.data(), nprobe, ivf.max_codes);
  const HeldLists lists(ivf.invlists, probes, s);

  faiss::heap_heapify<C>(k, simi, idxi);
  const size_t total = scanned(probes);
  const size_t pass = std::min(total, kPassRows);
  float* buf = bufferOf(pass);
  uint8_t* selected = sel ? selectedOf(pass) : nullptr;
  DistanceJob<C> job{&distancesOf(ivf), x, static_cast<size_t>(ivf.d), s.chunks, {k, simi, idxi, false}, sel, prefetchingOf(sel)};
  // Passes over [r0, r0 + pass) of the probed rows, in probe order.
  for (size_t r0 = 0; r0 < total; r0 += pass) {
    const size_t r1 = std::min(total, r0 + pass);
    job.chunks.clear();
    for (size_t i = 0; i < probes.size(); i++) {
      const size_t a = std::max(r0, probes[i].offset), b = std::min(r1, probes[i].offset + probes[i].size);
      if (a >= b) continue;
      const size_t skip = a - probes[i].offset;
      addChunks(job, lists.vectors(i) + skip * job.d, b - a, buf + (a - r0), lists.ids(i) + skip, 0,
                selected ? selected + (a - r0) : nullptr);
    }
    runJob(job, share);
  }
  faiss::heap_reorder<C>(k, simi, idxi);
  s.trim();
}

}  // namespace

Fit ivfScanFit(const faiss::Index& index, int64_t nprobe, int64_t n, int64_t k, const faiss::IDSelector* sel) {
  const Fit fit = eligible(index);
  if (fit != Fit::kAnswers) return fit;
  const auto& ivf = static_cast<const faiss::IndexIVFFlat&>(index);
  if (k <= 0 || n < 1 || (nprobe < 0 ? static_cast<int64_t>(ivf.nprobe) : nprobe) <= 0) return Fit::kNotItsSearch;  // FAISS refuses it
  if (sel) {
    // A sorted IDSelectorRange narrows each list to a range of its ids in FAISS (find_sorted_ids_bounds): its own.
    const auto* range = dynamic_cast<const faiss::IDSelectorRange*>(sel);
    if (range && range->assume_sorted) return Fit::kNotItsSearch;
    // A filtered batch: FAISS's scan, query by query.
    return n == 1 ? Fit::kAnswers : Fit::kNotItsSearch;
  }
  if (n == 1) return Fit::kAnswers;  // one query: split across two cores ("One query")
  // Sharing pays once a thread's slice probes each list twice on average; below
  // that most lists serve one query and FAISS's own scan is as fast or faster
  // (a 32-query batch on IVF1024 at nprobe 16: bench:kernel-ivf).
  const int64_t slice = n / std::min<int64_t>(omp_get_max_threads(), n);
  if (static_cast<size_t>(slice) * probeCount(ivf, nprobe) < kMinVisitsPerList * ivf.nlist) return Fit::kSmallBatch;
  return Fit::kAnswers;
}

void ivfScan(const faiss::IndexIVFFlat& ivf, int64_t nprobe, int64_t n, const float* x, int64_t k, float* distances,
             int64_t* labels, const faiss::IDSelector* sel) {
  const size_t probes = probeCount(ivf, nprobe);
  if (n == 1) {
    if (ivf.metric_type == faiss::METRIC_INNER_PRODUCT) {
      searchOne<faiss::CMin<float, idx_t>>(ivf, probes, x, static_cast<size_t>(k), distances, labels, sel);
    } else {
      searchOne<faiss::CMax<float, idx_t>>(ivf, probes, x, static_cast<size_t>(k), distances, labels, sel);
    }
    return;
  }
  FAISS_THROW_IF_NOT_MSG(sel == nullptr, "ivfScan: a filtered batch is FAISS's own search (ivfScanFit)");
  if (ivf.metric_type == faiss::METRIC_INNER_PRODUCT) {
    search<faiss::CMin<float, idx_t>>(ivf, probes, n, x, static_cast<size_t>(k), distances, labels);
  } else {
    search<faiss::CMax<float, idx_t>>(ivf, probes, n, x, static_cast<size_t>(k), distances, labels);
  }
}

int64_t ivfScanBufferBytes() { return static_cast<int64_t>(kBufferFloats * sizeof(float)); }

}  // namespace fp
