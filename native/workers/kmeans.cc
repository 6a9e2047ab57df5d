#include "../kmeans.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/random.h>

#include <vector>

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

// FAISS 1.7.3's k-means gives an empty cluster a new centroid by drawing, at
// random, a cluster to split (the larger its weight above 1, the likelier), and
// draws until one is taken (split_clusters in Clustering.cpp). When no cluster
// holds more than 1 (weights summing to 1 or less a cluster, all zero, or frozen
// centroids taking every point) it draws forever, on a libuv thread. The index
// FAISS assigns the points with sees each iteration's assignment just before
// that split: it replays the split's draws (the same generator, seeded 1234 as
// FAISS's) and stops the training with ERR_INVALID_ARGUMENT when they would not end.
class SplitGuardIndex : public faiss::Index {
 public:
  // `weights`: one per point as FAISS weighs them (its subsample's, when it
  // subsamples), or null; `points`: how many it clusters; `frozen`: its frozen centroids.
  SplitGuardIndex(faiss::Index& inner, int64_t k, int64_t frozen, int64_t points, std::vector<float> weights)
      : faiss::Index(inner.d, inner.metric_type), inner_(inner), k_(k), frozen_(frozen), points_(points), weights_(std::move(weights)) {
    is_trained = inner.is_trained;
  }
  void add(idx_t n, const float* x) override {
    inner_.add(n, x);
    ntotal = inner_.ntotal;
  }
  void reset() override {
    inner_.reset();
    ntotal = 0;
  }
  void train(idx_t n, const float* x) override {
    inner_.train(n, x);
    is_trained = inner_.is_trained;
  }
  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override {
    inner_.search(n, x, k, distances, labels, params);
    if (n == points_ && k == 1) requireSplitEnds(labels);
  }

 private:
  // A replay of compute_centroids' weights per cluster and split_clusters' draws.
  void requireSplitEnds(const idx_t* assign) const {
    const size_t k = static_cast<size_t>(k_ - frozen_), n = static_cast<size_t>(points_);
    std::vector<float> h(k, 0.0f);
    for (size_t i = 0; i < n; i++) {
      const int64_t ci = assign[i] - frozen_;
      if (ci < 0 || ci >= static_cast<int64_t>(k)) continue;
      if (weights_.empty()) h[ci] += 1.0;
      else h[ci] += weights_[i];
    }
    faiss::RandomGenerator rng(1234);
    int64_t draws = 0;
    for (size_t ci = 0; ci < k; ci++) {
      if (h[ci] != 0) continue;
      bool splittable = false;
      for (size_t cj = 0; cj < k && !splittable; cj++) splittable = (h[cj] - 1.0) / (float)(n - k) > 0;
      if (!splittable) stop(ci);
      size_t cj;
      for (cj = 0;; cj = (cj + 1) % k) {
        const float p = (h[cj] - 1.0) / (float)(n - k);
        if (rng.rand_float() < p) break;
        if (++draws > kMaxDraws) stop(ci);
      }
      h[ci] = h[cj] / 2;
      h[cj] -= h[ci];
    }
  }

  [[noreturn]] void stop(size_t cluster) const {
    throw ArgumentError(code::kInvalidArgument,
                        "k-means cannot go on: cluster " + std::to_string(cluster + frozen_) +
                            " is empty and no cluster it could be split from holds more than 1 (in weight); FAISS 1.7.3 "
                            "would look for one forever (weights too small or zero, or frozen centroids taking the points)");
  }

  // Far more than any split needs (about k draws an empty cluster).
  static constexpr int64_t kMaxDraws = int64_t{1} << 32;

  faiss::Index& inner_;
  int64_t k_, frozen_, points_;
  std::vector<float> weights_;
};

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
    // With weights, the split guard's copy of them and the subsample's permutation (SplitGuardIndex).
    const int64_t guard = weights_.n ? mulBytes(x_.n, sizeof(float) + sizeof(int)) : 0;
    return addBytes(addBytes(addBytes(copied, perPoint), addBytes(centroids, blocks)), guard);
  }

  void Run() override {
    requireFinite(x_.data, x_.n * d_, d_, "x");
    if (weights_.n) requireFinite(weights_.data, weights_.n, 1, "weights");
    if (init_.n) requireFinite(init_.data, init_.n * d_, d_, "initCentroids");
    ThreadScope threads;
    faiss::Clustering clus(static_cast<int>(d_), static_cast<int>(k_), cp_);
    if (init_.n) clus.centroids.assign(init_.data, init_.data + init_.n * d_);
    index_ = std::make_unique<faiss::IndexFlat>(d_, cp_.spherical ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2);
    // What FAISS clusters: a subsample of k * max_points_per_centroid points, and
    // their weights, when there are more (subsample_training_set's permutation).
    const int64_t sample = std::min<int64_t>(x_.n, k_ * int64_t{cp_.max_points_per_centroid});
    std::vector<float> weights;
    if (weights_.n && sample < x_.n) {
      std::vector<int> perm(x_.n);
      faiss::rand_perm(perm.data(), x_.n, cp_.seed);
      weights.resize(sample);
      for (int64_t i = 0; i < sample; i++) weights[i] = weights_.data[perm[i]];
    } else if (weights_.n) {
      weights.assign(weights_.data, weights_.data + weights_.n);
    }
    SplitGuardIndex guard(*index_, k_, cp_.frozen_centroids ? init_.n : 0, sample, std::move(weights));
    clus.train(x_.n, x_.data, guard, weights_.n ? weights_.data : nullptr);
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
