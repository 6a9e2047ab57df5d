#include "../distances.h"

#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/extra_distances.h>

#include "../args.h"
#include "../memory_limits.h"
#include "../metrics.h"
#include "../search_memory.h"
#include "../threads.h"
#include "float_result.h"
#include "promise_worker.h"
#include "search_result.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;
constexpr int64_t kMaxK = 1 << 20;
// FAISS's BLAS kernels take sizes as 32-bit integers.
constexpr int64_t kMaxRows = INT32_MAX;
// knn_L2sqr / knn_inner_product's BLAS path computes blocks of
// distance_compute_blas_query_bs x distance_compute_blas_database_bs inner products.
int64_t blasBlockBytes() {
  return mulBytes(mulBytes(faiss::distance_compute_blas_query_bs, faiss::distance_compute_blas_database_bs), sizeof(float));
}

// (xq, xb, d, metric, metricArg) common to knn and pairwiseDistances.
struct TwoSets {
  TwoSets(const Napi::CallbackInfo& info, int metricAt) {
    d = integerArg(info[2], "d", 1, kMaxDimension);
    xq = floatRows(info[0], d, "xq");
    xb = floatRows(info[1], d, "xb");
    if (xq.n > kMaxRows || xb.n > kMaxRows)
      throw ArgumentError(code::kInvalidArgument, "Expected at most 2^31 - 1 vectors in xq and in xb");
    metric = metricOf(info[metricAt], true, "");
    metricArg = info[metricAt + 1].IsUndefined() ? 0 : metricArgValue(info[metricAt + 1]);
    if (metric == faiss::METRIC_Lp && metricArg == 0)
      throw ArgumentError(code::kInvalidArgument, "METRIC_Lp needs metricArg (its p, a positive number)");
  }
  void requireFiniteInput() const {
    requireFinite(xq.data, xq.n * d, d, "xq");
    requireFinite(xb.data, xb.n * d, d, "xb");
  }
  int64_t d = 0;
  FloatRows xq, xb;
  faiss::MetricType metric = faiss::METRIC_L2;
  float metricArg = 0;
};

// knn(xq, xb, d, k, metric, metricArg): exact k nearest neighbours, as faiss.knn.
class KnnWorker : public PromiseWorker {
 public:
  KnnWorker(Napi::Env env, const Napi::CallbackInfo& info)
      : PromiseWorker(env, "knn"), sets_(info, 4), k_(integerArg(info[3], "k", 1, kMaxK)), results_(checkedResults()) {}

 private:
  int64_t checkedResults() {
    const int64_t results = mulBytes(mulBytes(sets_.xq.n, k_), sizeof(float) + sizeof(int64_t));
    const int64_t temporary = addBytes(addBytes(blasBlockBytes(), mulBytes(sets_.xq.n + sets_.xb.n, sizeof(float))),
                                       flatReservoirBytes(sets_.xq.n, k_, static_cast<int>(configuredThreads())));
    requireWithinLimit("knn", addBytes(results, temporary),
                       std::to_string(sets_.xq.n) + " x " + std::to_string(k_) + " results and distance blocks");
    return sets_.xq.n * k_;
  }

  void Run() override {
    sets_.requireFiniteInput();
    ThreadScope threads(sets_.xq.n);
    const auto& s = sets_;
    if (s.metric == faiss::METRIC_L2) {
      faiss::knn_L2sqr(s.xq.data, s.xb.data, s.d, s.xq.n, s.xb.n, k_, results_.distances(), results_.labels());
    } else if (s.metric == faiss::METRIC_INNER_PRODUCT) {
      faiss::knn_inner_product(s.xq.data, s.xb.data, s.d, s.xq.n, s.xb.n, k_, results_.distances(), results_.labels());
    } else {
      faiss::float_maxheap_array_t heaps = {size_t(s.xq.n), size_t(k_), results_.labels(), results_.distances()};
      faiss::knn_extra_metrics(s.xq.data, s.xb.data, s.d, s.xq.n, s.xb.n, s.metric, s.metricArg, &heaps);
    }
  }

  Napi::Value Result(Napi::Env env) override { return results_.release(env); }

  TwoSets sets_;
  int64_t k_;
  SearchResultArrays results_;
};

// pairwiseDistances(xq, xb, d, metric, metricArg): the nq x nb distance matrix,
// as faiss.pairwise_distances (which, in 1.7.3, has no inner product: FAISS's
// pairwise_extra_distances throws for it; here it is the plain dot products).
class PairwiseWorker : public PromiseWorker {
 public:
  PairwiseWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, "pairwise_distances"), sets_(info, 3) {
    const int64_t count = mulBytes(sets_.xq.n, sets_.xb.n);
    requireWithinLimit("pairwiseDistances", addBytes(mulBytes(count, sizeof(float)), mulBytes(sets_.xq.n + sets_.xb.n, sizeof(float))),
                       "a " + std::to_string(sets_.xq.n) + " x " + std::to_string(sets_.xb.n) + " distance matrix");
    out_ = FloatResult(count, "pairwiseDistances");
  }

 private:
  void Run() override {
    sets_.requireFiniteInput();
    ThreadScope threads;
    const auto& s = sets_;
    float* dis = out_.data();
    if (s.metric == faiss::METRIC_L2) {
      faiss::pairwise_L2sqr(s.d, s.xq.n, s.xq.data, s.xb.n, s.xb.data, dis);
    } else if (s.metric == faiss::METRIC_INNER_PRODUCT) {
#pragma omp parallel for if (s.xq.n > 1)
      for (int64_t i = 0; i < s.xq.n; i++) faiss::fvec_inner_products_ny(dis + i * s.xb.n, s.xq.data + i * s.d, s.xb.data, s.d, s.xb.n);
    } else {
      faiss::pairwise_extra_distances(s.d, s.xq.n, s.xq.data, s.xb.n, s.xb.data, s.metric, s.metricArg, dis);
    }
  }

  Napi::Value Result(Napi::Env env) override { return out_.release(env); }

  TwoSets sets_;
  FloatResult out_;
};

// normalizeL2(x, d): every row of x scaled to unit L2 norm, in place (rows of
// norm 0 are left as they are), as faiss.normalize_L2.
class NormalizeWorker : public PromiseWorker {
 public:
  NormalizeWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, "normalize_L2") {
    d_ = integerArg(info[1], "d", 1, kMaxDimension);
    x_ = floatRows(info[0], d_, "x");
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * d_, d_, "x");
    ThreadScope threads;
    faiss::fvec_renorm_L2(d_, x_.n, const_cast<float*>(x_.data));
  }

  int64_t d_ = 0;
  FloatRows x_;
};

Napi::Value knn(const Napi::CallbackInfo& info) { return startWorker<KnnWorker>(info.Env(), info); }
Napi::Value pairwiseDistances(const Napi::CallbackInfo& info) { return startWorker<PairwiseWorker>(info.Env(), info); }
Napi::Value normalizeL2(const Napi::CallbackInfo& info) { return startWorker<NormalizeWorker>(info.Env(), info); }

}  // namespace

void defineDistances(Napi::Env env, Napi::Object exports) {
  exports.Set("knn", Napi::Function::New<knn>(env));
  exports.Set("pairwiseDistances", Napi::Function::New<pairwiseDistances>(env));
  exports.Set("normalizeL2", Napi::Function::New<normalizeL2>(env));
}

}  // namespace fp
