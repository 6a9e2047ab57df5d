#include "../kmeans.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>

#include "../args.h"
#include "../index.h"
#include "../memory_limits.h"
#include "float_result.h"
#include "promise_worker.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;
constexpr int64_t kMaxIterations = 1 << 20;
constexpr int64_t kMaxRedo = 1 << 16;
constexpr int64_t kMaxPointsPerCentroid = 1 << 30;

bool boolArg(const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) throw ArgumentError(code::kInvalidArgument, std::string("Expected a boolean for ") + name);
  return v.As<Napi::Boolean>().Value();
}

class KmeansWorker : public PromiseWorker {
 public:
  KmeansWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, "kmeans") {
    d_ = integerArg(info[1], "d", 1, kMaxDimension);
    x_ = floatRows(info[0], d_, "x");
    k_ = integerArg(info[2], "k", 1, INT32_MAX);
    if (k_ > x_.n)
      throw ArgumentError(code::kInvalidArgument, "k-means needs at least as many training points as clusters: k is " +
                                                      std::to_string(k_) + " but x holds " + std::to_string(x_.n) + " vectors");
    cp_.niter = static_cast<int>(integerArg(info[3], "niter", 0, kMaxIterations));
    cp_.nredo = static_cast<int>(integerArg(info[4], "nredo", 1, kMaxRedo));
    cp_.verbose = boolArg(info[5], "verbose");
    cp_.spherical = boolArg(info[6], "spherical");
    cp_.int_centroids = boolArg(info[7], "intCentroids");
    cp_.update_index = boolArg(info[8], "updateIndex");
    cp_.frozen_centroids = boolArg(info[9], "frozenCentroids");
    cp_.min_points_per_centroid = static_cast<int>(integerArg(info[10], "minPointsPerCentroid", 0, kMaxPointsPerCentroid));
    cp_.max_points_per_centroid = static_cast<int>(integerArg(info[11], "maxPointsPerCentroid", 1, kMaxPointsPerCentroid));
    cp_.seed = static_cast<int>(integerArg(info[12], "seed", INT32_MIN, INT32_MAX));
    if (!info[13].IsUndefined()) {
      weights_ = floatRows(info[13], 1, "weights");
      if (weights_.n != x_.n)
        throw ArgumentError(code::kInvalidArgument, "Expected one weight per training vector (" + std::to_string(x_.n) +
                                                        ") but weights holds " + std::to_string(weights_.n));
    }
    if (!info[14].IsUndefined()) {
      init_ = floatRows(info[14], d_, "initCentroids");
      if (init_.n > k_)
        throw ArgumentError(code::kInvalidArgument, "Expected at most k (" + std::to_string(k_) +
                                                        ") initial centroids but initCentroids holds " + std::to_string(init_.n));
    }
    requireWithinLimit("kmeans", memoryBytes(), "the training sample, assignments and centroids");
  }

 private:
  // After Clustering::train_encoded in FAISS 1.7.3: a subsample of at most
  // k * max_points_per_centroid rows is copied, each point gets an assignment
  // (int64) and a distance, the centroids exist up to four times (the clustering,
  // the best redo, the index, the answer), and the index's searches compute
  // distances in BLAS blocks.
  int64_t memoryBytes() const {
    const int64_t sample = std::min<int64_t>(x_.n, mulBytes(k_, cp_.max_points_per_centroid));
    const int64_t copied = sample < x_.n ? mulBytes(sample, mulBytes(d_, sizeof(float)) + sizeof(float)) : 0;
    const int64_t perPoint = mulBytes(sample, sizeof(int64_t) + sizeof(float) + sizeof(int));
    const int64_t centroids = mulBytes(mulBytes(k_, d_), 4 * sizeof(float));
    const int64_t blocks = mulBytes(mulBytes(faiss::distance_compute_blas_query_bs, faiss::distance_compute_blas_database_bs),
                                    sizeof(float));
    return addBytes(addBytes(copied, perPoint), addBytes(centroids, blocks));
  }

  void Run() override {
    requireFinite(x_.data, x_.n * d_, d_, "x");
    if (weights_.n) requireFinite(weights_.data, weights_.n, 1, "weights");
    if (init_.n) requireFinite(init_.data, init_.n * d_, d_, "initCentroids");
    ThreadScope threads;
    faiss::Clustering clus(static_cast<int>(d_), static_cast<int>(k_), cp_);
    if (init_.n) clus.centroids.assign(init_.data, init_.data + init_.n * d_);
    index_ = std::make_unique<faiss::IndexFlat>(d_, cp_.spherical ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2);
    clus.train(x_.n, x_.data, *index_, weights_.n ? weights_.data : nullptr);
    centroids_ = std::move(clus.centroids);
    stats_ = std::move(clus.iteration_stats);
  }

  Napi::Value Result(Napi::Env env) override {
    auto out = Napi::Object::New(env);
    FloatResult centroids(static_cast<int64_t>(centroids_.size()), "kmeans");
    std::copy(centroids_.begin(), centroids_.end(), centroids.data());
    out.Set("centroids", centroids.release(env));
    auto obj = Napi::Float64Array::New(env, stats_.size());
    auto stats = Napi::Array::New(env, stats_.size());
    for (size_t i = 0; i < stats_.size(); i++) {
      obj[i] = stats_[i].obj;
      auto s = Napi::Object::New(env);
      s.Set("obj", stats_[i].obj);
      s.Set("time", stats_[i].time);
      s.Set("timeSearch", stats_[i].time_search);
      s.Set("imbalanceFactor", stats_[i].imbalance_factor);
      s.Set("nsplit", stats_[i].nsplit);
      stats.Set(static_cast<uint32_t>(i), s);
    }
    out.Set("obj", obj);
    out.Set("iterationStats", stats);
    out.Set("index", IndexWrap::Wrap(env, std::move(index_)));
    return out;
  }

  int64_t d_ = 0;
  int64_t k_ = 0;
  FloatRows x_;
  FloatRows weights_;
  FloatRows init_;
  faiss::ClusteringParameters cp_;
  std::unique_ptr<faiss::Index> index_;
  std::vector<float> centroids_;
  std::vector<faiss::ClusteringIterationStats> stats_;
};

Napi::Value kmeansTrain(const Napi::CallbackInfo& info) { return startWorker<KmeansWorker>(info.Env(), info); }

}  // namespace

void defineKmeans(Napi::Env env, Napi::Object exports) { exports.Set("kmeansTrain", Napi::Function::New<kmeansTrain>(env)); }

}  // namespace fp
