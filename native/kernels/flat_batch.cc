#include "flat_batch.h"

#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <typeinfo>
#include <vector>

#include "../memory_limits.h"
#include "../threads.h"
#include "flat_candidates.h"
#include "sgemm_chain.h"
#include "switches.h"

namespace fp {

#ifdef FP_SGEMM_CHAIN

namespace {

// Queries per group: four registers of eight, 24 accumulators with 6 stored
// vectors (sgemm_chain.h).
constexpr size_t kGroupQueries = 32;
// Stored vectors passed over by every group of queries while in cache (L2 is
// 1 MiB per core here): a batch of more than 32 queries reads them from memory once.
constexpr size_t kChunkBytes = 128 * 1024;
// Products below 2^127 in magnitude: then 2 <x, y> is finite, FAISS's
// ||x||^2 + ||y||^2 - 2 <x, y> is the same float whether or not its compiler
// fused the multiply into the subtraction, and no distance is NaN. Larger
// products (or NaN ones, from NaN stored vectors) send the search to FAISS.
constexpr float kLargestProduct = 0x1p127f;

// Whether sgemm_ would multiply a partial block of `rows` stored vectors by a
// slice of n queries on its general path, one chain per product: OpenBLAS takes
// its small-matrix path only where M * N * K <= 100^3 (sgemm_chain.h), and the
// linked sgemm_ must give the chain's bits past that bound (checked once per d).
bool tailChainable(size_t rows, size_t n, size_t d) {
  return static_cast<double>(rows) * static_cast<double>(n) * static_cast<double>(d) > kSmallMatrixBound &&
         sgemmChainMatchesPastSmall(d);
}

// Whether a search of n queries, L2 with k = 1 on fewer full blocks than
// threads, is split by whole blocks of queries (queryBlock each) rather than
// within each: at least two blocks per thread, and every block's partial block of
// stored vectors multiplied in registers (sgemm_ is not called from the threads).
bool queriesSplitBySlice(const faiss::IndexFlat& index, int64_t n, int64_t k, int threads, int64_t queryBlock) {
  if (index.metric_type != faiss::METRIC_L2 || k != 1 || threads < 2 || n < 2 * threads * queryBlock) return false;
  const size_t blockRows = static_cast<size_t>(faiss::distance_compute_blas_database_bs);
  const size_t ntotal = static_cast<size_t>(index.ntotal);
  if (ntotal / blockRows >= static_cast<size_t>(threads)) return false;
  const size_t tailRows = ntotal % blockRows;
  const size_t smallest = static_cast<size_t>(n % queryBlock == 0 ? queryBlock : n % queryBlock);
  return tailRows == 0 || tailChainable(tailRows, smallest, static_cast<size_t>(index.d));
}

enum class Mode {
  kL2,            // HeapResultHandler<CMax>, distance ||x||^2 + ||y||^2 - 2 <x, y>
  kInnerProduct,  // HeapResultHandler<CMin>, distance <x, y>
  kL2Nearest,     // L2, k = 1: FAISS's AVX2 override of exhaustive_L2sqr_blas
};

// Up to 32 queries, packed for chainTile: float p of each side by side.
struct Group {
  size_t first, count;
  int q8;          // registers of 8 queries
  size_t padded;   // offset of the group's lanes in the per-lane arrays (8 * q8 each)
  const float* packed;
};

struct Pass {
  Mode mode;
  const float* xb;
  const float* yNorms;  // L2
  size_t d, n, k, keep;
  size_t blockRows;  // FAISS's distance_compute_blas_database_bs
  size_t rowsEnd;    // the full blocks' end
  size_t ntotal;
  // kL2Nearest split by queries: the partial last block [rowsEnd, ntotal) is
  // multiplied here too (its first tailLaned rows taken eight lanes at a time,
  // as the override does, the rest one by one), not by sgemm_.
  bool tailChained = false;
  size_t tailLaned = 0;
  size_t chunkRows;
  size_t lanes;      // all groups' lanes (a multiple of 8)
  std::vector<Group> groups;
  std::vector<float> xNormLanes;  // L2: ||x||^2 per lane, 0 for padding
};

// kL2Nearest: the first smallest of one of the override's eight lanes over a
// block, and its offset in the block (-1: no value below +inf).
struct LaneMin {
  float value;
  int32_t at;
};

// One thread's share: a contiguous range of full blocks for a contiguous range of
// groups (queries q0..q1-1): all groups when the blocks are split, all blocks
// when the queries are.
struct Share {
  size_t block0 = 0, block1 = 0;
  size_t group0 = 0, group1 = 0;
  size_t q0 = 0, q1 = 0;
  FlatCandidates candidates;      // kL2, kInnerProduct
  std::vector<float> thresholds;  // per lane: what a distance must beat to enter
  std::vector<LaneMin> blockLanes;     // kL2Nearest: [(block - block0) * (q1 - q0) * 8 + (q - q0) * 8 + lane]
  std::vector<LaneMin> tailLanes;      // kL2Nearest, tailChained: [(q - q0) * 8 + lane]
  std::vector<float> tailRest;         // kL2Nearest, tailChained: the products of the rows past tailLaned, [(q - q0) * rest + jj]
  std::vector<float> laneValue;        // kL2Nearest, the current block: [lane * lanes + q lane]
  std::vector<int32_t> laneAt;
  bool overflow = false;
};

// R stored vectors from `row` against group g: products in registers, then each
// query's distance against its threshold (or its lane's minimum).
template <Mode M, int Q8, int R>
inline void tile(const Pass& s, const Group& g, size_t row, const float* ahead, size_t blockStart, Share& sh) {
  __m256 acc[R][Q8];
  chainTile<Q8, R>(g.packed, s.xb + row * s.d, s.d, ahead, acc);

  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 largest = _mm256_set1_ps(kLargestProduct);
  __m256 bad = _mm256_setzero_ps();
#pragma GCC unroll 32
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < Q8; v++)
      bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(acc[r][v], magnitude), largest, _CMP_NLT_UQ));
  if (_mm256_movemask_ps(bad)) sh.overflow = true;

  if constexpr (M == Mode::kL2Nearest) {
    // The override's lane value: fmadd(ip, -2, ||y||^2), one rounding.
    const __m256 minus2 = _mm256_set1_ps(-2.0f);
#pragma GCC unroll 32
    for (int r = 0; r < R; r++) {
      const size_t j = row + r;
      const __m256 yNorm = _mm256_broadcast_ss(s.yNorms + j);
      const size_t lane = (j - blockStart) & 7;
      const __m256i at = _mm256_set1_epi32(static_cast<int32_t>(j - blockStart));
      float* value = sh.laneValue.data() + lane * s.lanes + g.padded;
      int32_t* offset = sh.laneAt.data() + lane * s.lanes + g.padded;
#pragma GCC unroll 4
      for (int v = 0; v < Q8; v++) {
        const __m256 dis = _mm256_fmadd_ps(acc[r][v], minus2, yNorm);
        const __m256 current = _mm256_loadu_ps(value + 8 * v);
        const __m256 less = _mm256_cmp_ps(dis, current, _CMP_LT_OQ);
        _mm256_storeu_ps(value + 8 * v, _mm256_blendv_ps(current, dis, less));
        const __m256i currentAt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offset + 8 * v));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(offset + 8 * v),
                           _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(currentAt),
                                                                _mm256_castsi256_ps(at), less)));
      }
    }
  } else {
    __m256 xNorm[Q8];
    if constexpr (M == Mode::kL2) {
#pragma GCC unroll 4
      for (int v = 0; v < Q8; v++) xNorm[v] = _mm256_loadu_ps(s.xNormLanes.data() + g.padded + 8 * v);
    }
    const __m256 zero = _mm256_setzero_ps();
    float* thresholds = sh.thresholds.data() + g.padded;
#pragma GCC unroll 32
    for (int r = 0; r < R; r++) {
      const size_t j = row + r;
      __m256 yNorm = zero;
      if constexpr (M == Mode::kL2) yNorm = _mm256_broadcast_ss(s.yNorms + j);
#pragma GCC unroll 4
      for (int v = 0; v < Q8; v++) {
        __m256 dis = acc[r][v];
        unsigned enter;
        if constexpr (M == Mode::kL2) {
          // x_norms[i] + y_norms[j] - 2 * ip, and 0 for what rounding made negative.
          dis = _mm256_sub_ps(_mm256_add_ps(xNorm[v], yNorm), _mm256_add_ps(dis, dis));
          dis = _mm256_blendv_ps(dis, zero, _mm256_cmp_ps(dis, zero, _CMP_LT_OQ));
          enter = _mm256_movemask_ps(_mm256_cmp_ps(dis, _mm256_loadu_ps(thresholds + 8 * v), _CMP_LT_OQ));
        } else {
          enter = _mm256_movemask_ps(_mm256_cmp_ps(dis, _mm256_loadu_ps(thresholds + 8 * v), _CMP_GT_OQ));
        }
        if (!enter) continue;
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, dis);
        for (; enter; enter &= enter - 1) {
          const int lane = __builtin_ctz(enter);
          const size_t q = g.first + 8 * v + lane;  // padding lanes never enter
          const float key = M == Mode::kL2 ? lanes[lane] : -lanes[lane];
          sh.candidates.replaceTop(q, key, static_cast<int64_t>(j));
          const float top = sh.candidates.keysOf(q)[0];
          thresholds[8 * v + lane] = M == Mode::kL2 ? top : -top;
        }
      }
    }
  }
}

template <Mode M, int Q8>
void scanChunk(const Pass& s, const Group& g, size_t row0, size_t row1, size_t blockStart, size_t rangeEnd, Share& sh) {
  constexpr int R = chainTileRows<Q8>();
  size_t j = row0;
  for (; j + R <= row1; j += R) {
    // The next tile's vectors are prefetched during this one (up to the last full
    // tile of the rows scanned, which end at rangeEnd >= row1).
    const size_t ahead = std::min(j + R, rangeEnd - R);
    tile<M, Q8, R>(s, g, j, s.xb + ahead * s.d, blockStart, sh);
  }
  for (; j < row1; j++) tile<M, Q8, 1>(s, g, j, s.xb + j * s.d, blockStart, sh);
}

// Rows [row0, row1) of the block starting at blockStart for the share's groups,
// chunk by chunk (each chunk passed over by every group while in cache).
template <Mode M>
void scanRows(const Pass& s, Share& sh, size_t row0, size_t row1, size_t blockStart, size_t rangeEnd) {
  for (size_t c0 = row0; c0 < row1; c0 += s.chunkRows) {
    const size_t c1 = std::min(row1, c0 + s.chunkRows);
    for (size_t gi = sh.group0; gi < sh.group1; gi++) {
      const Group& g = s.groups[gi];
      switch (g.q8) {
        case 4: scanChunk<M, 4>(s, g, c0, c1, blockStart, rangeEnd, sh); break;
        case 3: scanChunk<M, 3>(s, g, c0, c1, blockStart, rangeEnd, sh); break;
        case 2: scanChunk<M, 2>(s, g, c0, c1, blockStart, rangeEnd, sh); break;
        default: scanChunk<M, 1>(s, g, c0, c1, blockStart, rangeEnd, sh); break;
      }
    }
  }
}

// kL2Nearest: the lanes' minima of the rows just scanned, for the share's queries.
void saveLanes(const Pass& s, const Share& sh, LaneMin* out) {
  for (size_t gi = sh.group0; gi < sh.group1; gi++) {
    const Group& g = s.groups[gi];
    for (size_t i = 0; i < g.count; i++)
      for (size_t lane = 0; lane < 8; lane++)
        out[(g.first + i - sh.q0) * 8 + lane] = {sh.laneValue[lane * s.lanes + g.padded + i],
                                                 sh.laneAt[lane * s.lanes + g.padded + i]};
  }
}

// kL2Nearest, tailChained: the products of the partial block's rows past the
// laned ones (FAISS's leftovers), one stored vector at a time.
template <int Q8>
void tailRestProducts(const Pass& s, const Group& g, Share& sh) {
  const size_t first = s.rowsEnd + s.tailLaned, rest = s.ntotal - first;
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 largest = _mm256_set1_ps(kLargestProduct);
  for (size_t jj = 0; jj < rest; jj++) {
    const float* row = s.xb + (first + jj) * s.d;
    __m256 acc[1][Q8];
    chainTile<Q8, 1>(g.packed, row, s.d, row, acc);
    alignas(32) float products[8 * Q8];
    __m256 bad = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int v = 0; v < Q8; v++) {
      bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(acc[0][v], magnitude), largest, _CMP_NLT_UQ));
      _mm256_store_ps(products + 8 * v, acc[0][v]);
    }
    if (_mm256_movemask_ps(bad)) sh.overflow = true;
    for (size_t i = 0; i < g.count; i++) sh.tailRest[(g.first + i - sh.q0) * rest + jj] = products[i];
  }
}

template <Mode M>
void scanShare(const Pass& s, Share& sh) {
  const size_t shareQueries = sh.q1 - sh.q0;
  if constexpr (M == Mode::kL2Nearest) {
    sh.blockLanes.resize((sh.block1 - sh.block0) * shareQueries * 8);
    sh.laneValue.resize(8 * s.lanes);
    sh.laneAt.resize(8 * s.lanes);
  } else {
    sh.candidates.reset(s.n, s.keep);
    // A heap's top starts at FLT_MAX (L2: enter below it; inner product: above
    // -FLT_MAX); padding lanes never enter.
    const float never = M == Mode::kL2 ? -HUGE_VALF : HUGE_VALF;
    const float first = M == Mode::kL2 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max();
    sh.thresholds.assign(s.lanes, never);
    for (const Group& g : s.groups) std::fill_n(sh.thresholds.begin() + g.padded, g.count, first);
  }
  for (size_t b = sh.block0; b < sh.block1; b++) {
    const size_t blockStart = b * s.blockRows, blockEnd = blockStart + s.blockRows;
    if constexpr (M == Mode::kL2Nearest) {
      std::fill(sh.laneValue.begin(), sh.laneValue.end(), HUGE_VALF);
      std::fill(sh.laneAt.begin(), sh.laneAt.end(), -1);
    }
    scanRows<M>(s, sh, blockStart, blockEnd, blockStart, s.rowsEnd);
    if constexpr (M == Mode::kL2Nearest) saveLanes(s, sh, sh.blockLanes.data() + (b - sh.block0) * shareQueries * 8);
  }
  if constexpr (M == Mode::kL2Nearest) {
    if (s.tailChained) {
      std::fill(sh.laneValue.begin(), sh.laneValue.end(), HUGE_VALF);
      std::fill(sh.laneAt.begin(), sh.laneAt.end(), -1);
      sh.tailLanes.resize(shareQueries * 8);
      scanRows<M>(s, sh, s.rowsEnd, s.rowsEnd + s.tailLaned, s.rowsEnd, s.rowsEnd + s.tailLaned);
      saveLanes(s, sh, sh.tailLanes.data());
      sh.tailRest.resize(shareQueries * (s.ntotal - s.rowsEnd - s.tailLaned));
      for (size_t gi = sh.group0; gi < sh.group1; gi++) {
        const Group& g = s.groups[gi];
        switch (g.q8) {
          case 4: tailRestProducts<4>(s, g, sh); break;
          case 3: tailRestProducts<3>(s, g, sh); break;
          case 2: tailRestProducts<2>(s, g, sh); break;
          default: tailRestProducts<1>(s, g, sh); break;
        }
      }
    }
  }
}

// kL2Nearest. FAISS's SingleBestResultHandler state for one query (dis_tab[i],
// ids_tab[i]), and the override's running best within a block
// (current_min_distance, current_min_index: a uint32_t in FAISS).
struct Nearest {
  float dis;
  int64_t id;
};
struct Running {
  float dis;
  uint32_t id;
};

// The override's end of a block: its eight lanes, which started at
// dis_tab[i] - x_norms[i] with index 0, each kept its first smallest value;
// each lane's value plus x_norms[i] (0 if negative) is then taken where strictly
// smaller, or equal with a smaller index.
Running foldLanes(const LaneMin* lanes, float xNorm, size_t blockStart, const Nearest& best) {
  const float start = best.dis - xNorm;
  Running run{best.dis, static_cast<uint32_t>(best.id)};
  for (int jv = 0; jv < 8; jv++) {
    float value = start;
    int64_t at = 0;
    if (lanes[jv].value < start) {
      value = lanes[jv].value;
      at = lanes[jv].at;
    }
    float candidate = value + xNorm;
    if (candidate < 0) candidate = 0;
    const int64_t index = at + static_cast<int64_t>(blockStart);
    if (run.dis > candidate) {
      run.dis = candidate;
      run.id = static_cast<uint32_t>(index);
    } else if (run.dis == candidate && run.id > index) {
      run.id = static_cast<uint32_t>(index);
    }
  }
  return run;
}

// res.add_result(i, current_min_distance, current_min_index).
void commit(const Running& run, Nearest& best) {
  if (best.dis > run.dis) {
    best.dis = run.dis;
    best.id = run.id;
  }
}

// The last, partial block as FAISS handles it: products from sgemm_ with FAISS's
// arguments (for the slice, which is FAISS's block of queries: the call's shape
// decides OpenBLAS's path).
struct Tail {
  size_t row0, rows;
  std::vector<float> ip;  // [q * rows + j]
};

bool tailProducts(const Pass& s, const float* x, Tail& tail) {
  if (tail.rows == 0) return true;
  tail.ip.resize(s.n * tail.rows);
  sgemmLikeFaiss(s.xb + tail.row0 * s.d, tail.rows, x, s.n, s.d, tail.ip.data());
  for (float ip : tail.ip)
    if (!(std::fabs(ip) < kLargestProduct)) return false;
  return true;
}

void tailCandidates(const Pass& s, const Tail& tail, const float* xNorms, FlatCandidates& c) {
  c.reset(s.n, s.keep);
  for (size_t q = 0; q < s.n; q++) {
    const float* line = tail.ip.data() + q * tail.rows;
    float top = c.keysOf(q)[0];
    for (size_t jj = 0; jj < tail.rows; jj++) {
      const size_t j = tail.row0 + jj;
      float key;
      if (s.mode == Mode::kL2) {
        float dis = xNorms[q] + s.yNorms[j] - 2 * line[jj];
        if (dis < 0) dis = 0;
        key = dis;
      } else {
        key = -line[jj];
      }
      if (key < top) {
        c.replaceTop(q, key, static_cast<int64_t>(j));
        top = c.keysOf(q)[0];
      }
    }
  }
}

// The override's end of the partial block at tailRow0: the lanes of its first
// rows (a multiple of 16) folded, then the `rest` rows after them one by one, from
// their products restIp.
void nearestInTail(const Pass& s, const LaneMin* lanes, size_t tailRow0, const float* restIp, size_t restRow0,
                   size_t rest, float xNorm, Nearest& best) {
  Running run = foldLanes(lanes, xNorm, tailRow0, best);
  for (size_t jj = 0; jj < rest; jj++) {
    float dis = xNorm + s.yNorms[restRow0 + jj] - 2 * restIp[jj];
    if (dis < 0) dis = 0;
    if (run.dis > dis) {
      run.dis = dis;
      run.id = static_cast<uint32_t>(restRow0 + jj);
    }
  }
  commit(run, best);
}

void tailNearest(const Pass& s, const Tail& tail, size_t q, float xNorm, Nearest& best) {
  if (tail.rows == 0) return;
  const float* line = tail.ip.data() + q * tail.rows;
  LaneMin lanes[8];
  for (auto& l : lanes) l = {HUGE_VALF, -1};
  const size_t laned = tail.rows / 16 * 16;  // the override's 16 at a time; the rest one by one
  for (size_t jj = 0; jj < laned; jj++) {
    const float dis = std::fma(line[jj], -2.0f, s.yNorms[tail.row0 + jj]);
    if (dis < lanes[jj & 7].value) lanes[jj & 7] = {dis, static_cast<int32_t>(jj)};
  }
  nearestInTail(s, lanes, tail.row0, line + laned, tail.row0 + laned, tail.rows - laned, xNorm, best);
}

// Aligned storage for the packed queries.
struct Packed {
  std::vector<float> storage;
  float* data(size_t floats) {
    storage.assign(floats + 8, 0.0f);
    const size_t misalign = (reinterpret_cast<uintptr_t>(storage.data()) / sizeof(float)) % 8;
    return storage.data() + (8 - misalign) % 8;
  }
};

// Queries [0, n) of one of FAISS's blocks of queries (distance_compute_blas_query_bs):
// the pass over the stored vectors, then their answers.
bool searchSlice(const faiss::IndexFlat& index, size_t n, const float* x, const float* xNorms, size_t k,
                 float* distances, int64_t* labels, const float* yNorms, int threadsWanted, bool oneThreadsBlock) {
  Pass s;
  const bool ip = index.metric_type == faiss::METRIC_INNER_PRODUCT;
  s.mode = ip ? Mode::kInnerProduct : k == 1 ? Mode::kL2Nearest : Mode::kL2;
  s.xb = index.get_xb();
  s.yNorms = ip ? nullptr : yNorms;
  s.d = static_cast<size_t>(index.d);
  s.n = n;
  s.k = k;
  s.keep = FlatCandidates::keepFor(s.k, ip);
  s.blockRows = static_cast<size_t>(faiss::distance_compute_blas_database_bs);
  s.chunkRows = std::max<size_t>(16, kChunkBytes / (s.d * sizeof(float)));
  const size_t ntotal = static_cast<size_t>(index.ntotal);
  const size_t fullBlocks = ntotal / s.blockRows;
  s.rowsEnd = fullBlocks * s.blockRows;

  // Groups of up to 32 queries, each packed for chainTile.
  size_t lanes = 0;
  for (size_t q0 = 0; q0 < s.n; q0 += kGroupQueries) {
    const size_t count = std::min(kGroupQueries, s.n - q0);
    const int q8 = static_cast<int>((count + 7) / 8);
    s.groups.push_back({q0, count, q8, lanes, nullptr});
    lanes += 8 * static_cast<size_t>(q8);
  }
  s.lanes = lanes;
  Packed packedStorage;
  float* packed = packedStorage.data(lanes * s.d);
  for (Group& g : s.groups) {
    float* out = packed + g.padded * s.d;
    const size_t width = 8 * static_cast<size_t>(g.q8);
    for (size_t i = 0; i < g.count; i++)
      for (size_t p = 0; p < s.d; p++) out[p * width + i] = x[(g.first + i) * s.d + p];
    g.packed = out;
  }
  if (!ip) {
    s.xNormLanes.assign(lanes, 0.0f);
    for (const Group& g : s.groups) std::copy_n(xNorms + g.first, g.count, s.xNormLanes.begin() + g.padded);
  }

  s.ntotal = ntotal;
  // The stored vectors are split by blocks, one range of blocks per thread. For
  // one nearest neighbour (L2, k = 1) on fewer full blocks than threads (an IVF
  // quantizer's centroids: kernels/ivf_build.h; a small index), the queries are
  // split instead, each thread scanning every block for its groups; the partial
  // last block is then multiplied here too wherever sgemm_ computes it on its
  // general path (tailChainable), rather than by sgemm_ after the pass.
  const size_t wanted = static_cast<size_t>(std::max(1, threadsWanted));
  const bool byQueries = s.mode == Mode::kL2Nearest && (oneThreadsBlock || fullBlocks < wanted);
  const size_t tailRows = ntotal - s.rowsEnd;
  s.tailChained = byQueries && tailRows > 0 && tailChainable(tailRows, s.n, s.d);
  s.tailLaned = tailRows / 16 * 16;  // the override's 16 at a time; the rest one by one
  const int threads = static_cast<int>(byQueries ? std::min(wanted, s.groups.size()) : std::clamp<size_t>(wanted, 1, fullBlocks));
  std::vector<Share> shares(threads);
  for (int t = 0; t < threads; t++) {
    Share& sh = shares[t];
    if (byQueries) {
      sh.block0 = 0;
      sh.block1 = fullBlocks;
      sh.group0 = s.groups.size() * t / threads;
      sh.group1 = s.groups.size() * (t + 1) / threads;
      sh.q0 = s.groups[sh.group0].first;
      sh.q1 = sh.group1 < s.groups.size() ? s.groups[sh.group1].first : s.n;
    } else {
      sh.block0 = fullBlocks * t / threads;
      sh.block1 = fullBlocks * (t + 1) / threads;
      sh.group0 = 0;
      sh.group1 = s.groups.size();
      sh.q0 = 0;
      sh.q1 = s.n;
    }
  }
  auto scan = [&](Share& sh) {
    switch (s.mode) {
      case Mode::kL2: scanShare<Mode::kL2>(s, sh); break;
      case Mode::kInnerProduct: scanShare<Mode::kInnerProduct>(s, sh); break;
      case Mode::kL2Nearest: scanShare<Mode::kL2Nearest>(s, sh); break;
    }
  };
  if (threads == 1) {
    scan(shares[0]);
  } else {
    // A loop, not one share per team member: every share is scanned even if
    // OpenMP starts fewer threads than asked.
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) scan(shares[t]);
  }
  Tail tail{s.rowsEnd, s.tailChained ? 0 : tailRows, {}};
  if (!tailProducts(s, x, tail)) return false;
  for (const Share& sh : shares)
    if (sh.overflow) return false;

  if (s.mode == Mode::kL2Nearest) {
    const size_t rest = tailRows - s.tailLaned;
    for (const Share& sh : shares) {
      for (size_t q = sh.q0; q < sh.q1; q++) {
        // begin_multiple: dis_tab[i] = +inf; ids_tab[i] is what `labels` held.
        Nearest best{HUGE_VALF, labels[q]};
        for (const Share& other : shares) {
          if (q < other.q0 || q >= other.q1) continue;
          for (size_t b = other.block0; b < other.block1; b++)
            commit(foldLanes(other.blockLanes.data() + ((b - other.block0) * (other.q1 - other.q0) + q - other.q0) * 8,
                             xNorms[q], b * s.blockRows, best),
                   best);
        }
        if (s.tailChained) {
          nearestInTail(s, sh.tailLanes.data() + (q - sh.q0) * 8, s.rowsEnd, sh.tailRest.data() + (q - sh.q0) * rest,
                        s.rowsEnd + s.tailLaned, rest, xNorms[q], best);
        } else {
          tailNearest(s, tail, q, xNorms[q], best);
        }
        distances[q] = best.dis;
        labels[q] = best.id;
      }
      if (!byQueries) break;  // every share covers every query: once
    }
    return true;
  }
  FlatCandidates tailPart;
  std::vector<const FlatCandidates*> parts;
  for (const Share& sh : shares) parts.push_back(&sh.candidates);
  if (tail.rows > 0) {
    tailCandidates(s, tail, xNorms, tailPart);
    parts.push_back(&tailPart);
  }
  mergeFlatCandidates(parts, s.n, s.k, ip, distances, labels);
  return true;
}

}  // namespace

Fit flatBatchFit(const faiss::Index& index, int64_t n, int64_t k) {
  if (!kernelSwitches().flatBatch.load(std::memory_order_relaxed)) return Fit::kNotItsSearch;
  const auto& type = typeid(index);
  if (type != typeid(faiss::IndexFlat) && type != typeid(faiss::IndexFlatL2) && type != typeid(faiss::IndexFlatIP))
    return Fit::kNotItsSearch;
  return flatBatchFitFlat(static_cast<const faiss::IndexFlat&>(index), n, k);
}

Fit flatBatchFitFlat(const faiss::IndexFlat& index, int64_t n, int64_t k) {
  // No upper bound on the batch: FAISS's BLAS path was slower at every size
  // measured, 20 to 4,096 queries (npm run bench:kernel-flat).
  if (n < faiss::distance_compute_blas_threshold || k < 1) return Fit::kNotItsSearch;
  if (index.metric_type != faiss::METRIC_L2 && index.metric_type != faiss::METRIC_INNER_PRODUCT) return Fit::kMetric;
  if (k >= faiss::distance_compute_min_k_reservoir) return Fit::kLargeK;
  // Full blocks of FAISS's size (4,096 here, blas_blocks.h; 1,024 by FAISS's
  // default): a multiple of 16, which the override's lanes take at a time, so that
  // only the partial last block (FAISS's own) has vectors left over; and at least
  // 1,024, so that a full block by 20 queries is past OpenBLAS's small-matrix
  // bound (sgemm_chain.h).
  const int64_t blockRows = faiss::distance_compute_blas_database_bs;
  if (blockRows < 1024 || blockRows % 16 != 0) return Fit::kSettings;
  // One nearest neighbour by L2 is also answered below one block (the queries
  // split across the threads instead of the blocks: an IVF quantizer's centroids).
  const bool nearest = index.metric_type == faiss::METRIC_L2 && k == 1;
  if (index.ntotal < (nearest ? 1 : blockRows) || index.ntotal > INT32_MAX) return Fit::kIndexSize;
  return sgemmChainMatches(static_cast<size_t>(index.d)) ? Fit::kAnswers : Fit::kProbeFailed;
}

int64_t flatBatchTemporaryBytes(const faiss::Index& index, int64_t n, int64_t k, int threads) {
  const int64_t slice = std::min<int64_t>(n, std::max(1, faiss::distance_compute_blas_query_bs));
  const int64_t lanes = addBytes(slice, kGroupQueries);
  const int64_t packed = mulBytes(mulBytes(lanes, index.d), sizeof(float));
  const int64_t perThread = addBytes(mulBytes(slice, mulBytes(2 * k, sizeof(float) + sizeof(int64_t))),
                                     mulBytes(lanes, 8 * (sizeof(float) + sizeof(int32_t)) + sizeof(float)));
  // The packed queries too per thread: an IVF's k-means gives each thread its own blocks of queries.
  int64_t bytes = mulBytes(std::max(1, threads), addBytes(packed, perThread));
  if (index.metric_type == faiss::METRIC_L2 && k == 1) {
    const int64_t blocks = index.ntotal / std::max(1, faiss::distance_compute_blas_database_bs);
    bytes = addBytes(bytes, mulBytes(mulBytes(blocks, slice), 8 * sizeof(LaneMin)));
    // The partial block's lanes and its up to 15 rows past them, per query.
    bytes = addBytes(bytes, mulBytes(slice, 8 * sizeof(LaneMin) + 15 * sizeof(float)));
  }
  return bytes;
}

bool flatBatch(const faiss::IndexFlat& index, int64_t n, const float* x, int64_t k, float* distances,
               int64_t* labels, const float* yNorms) {
  const size_t d = static_cast<size_t>(index.d);
  std::vector<float> xNorms;
  if (index.metric_type == faiss::METRIC_L2) {
    // FAISS's query norms, by FAISS's function. A norm that overflowed would make
    // the override's dis_tab[i] - x_norms[i] NaN: FAISS answers that.
    xNorms.resize(static_cast<size_t>(n));
    faiss::fvec_norms_L2sqr(xNorms.data(), x, d, static_cast<size_t>(n));
    for (float v : xNorms)
      if (!std::isfinite(v)) return false;
  }
  // FAISS's blocks of queries, each a pass over the stored vectors: the memory the
  // kernel holds does not grow with the batch, and the last block of stored
  // vectors is multiplied in sgemm_ calls of FAISS's own shapes.
  const int64_t queryBlock = std::max(1, faiss::distance_compute_blas_query_bs);
  const int threads = std::max(1, rowSplitThreads());
  const int64_t slices = (n + queryBlock - 1) / queryBlock;
  auto slice = [&](int64_t i0, int threadsWanted, bool oneThreadsBlock) {
    const int64_t i1 = std::min(n, i0 + queryBlock);
    return searchSlice(index, static_cast<size_t>(i1 - i0), x + i0 * index.d, xNorms.empty() ? nullptr : xNorms.data() + i0,
                       static_cast<size_t>(k), distances + i0 * k, labels + i0 * k, yNorms, threadsWanted, oneThreadsBlock);
  };
  if (queriesSplitBySlice(index, n, k, threads, queryBlock)) {
    // One nearest neighbour on few blocks, many blocks of queries (an IVF's
    // k-means and add): each thread takes whole blocks of queries, one parallel
    // region for the call rather than one per block of 256 queries.
    std::atomic<bool> failed{false};
    std::exception_ptr error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t b = 0; b < slices; b++) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        if (!slice(b * queryBlock, 1, true)) failed = true;
      } catch (...) {
#pragma omp critical(fp_flat_batch_error)
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
    if (error) std::rethrow_exception(error);
    return !failed.load();
  }
  for (int64_t i0 = 0; i0 < n; i0 += queryBlock)
    if (!slice(i0, threads, false)) return false;
  return true;
}

#else  // no AVX2/FMA: FAISS searches every batch

Fit flatBatchFit(const faiss::Index&, int64_t, int64_t) { return Fit::kNotItsSearch; }
Fit flatBatchFitFlat(const faiss::IndexFlat&, int64_t, int64_t) { return Fit::kNotItsSearch; }
int64_t flatBatchTemporaryBytes(const faiss::Index&, int64_t, int64_t, int) { return 0; }
bool flatBatch(const faiss::IndexFlat&, int64_t, const float*, int64_t, float*, int64_t*, const float*) { return false; }

#endif

}  // namespace fp
