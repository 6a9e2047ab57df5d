// train, apply, reverseTransform and init of a vector transform (transform.h),
// each on the libuv pool under the transform's lock. What each would allocate is
// held to the per-call memory limit before anything is allocated.
#include <faiss/VectorTransform.h>

#include <algorithm>

#include "../args.h"
#include "../memory_limits.h"
#include "../transform.h"
#include "float_result.h"
#include "promise_worker.h"

namespace fp {
namespace {

// What training allocates, after FAISS 1.7.3's VectorTransform.cpp: each type
// subsamples its input first (max_points_per_d, max_train_points,
// max_train_per_dim), then works on copies of the sample and d x d matrices.
int64_t trainBytes(const faiss::VectorTransform& t, int64_t n) {
  const int64_t dIn = t.d_in, dOut = t.d_out;
  if (auto* pca = dynamic_cast<const faiss::PCAMatrix*>(&t)) {
    const int64_t sample = std::min<int64_t>(n, mulBytes(static_cast<int64_t>(pca->max_points_per_d), dIn));
    // covariance and eigenvectors in double, PCAMat and A in float, the sample copied.
    return addBytes(mulBytes(mulBytes(dIn, dIn), 2 * 8 + 2 * 4), mulBytes(mulBytes(sample, dIn), 2 * 4));
  }
  if (auto* opq = dynamic_cast<const faiss::OPQMatrix*>(&t)) {
    const int64_t d = std::max(dIn, dOut);
    const int64_t sample = std::min<int64_t>(n, static_cast<int64_t>(opq->max_train_points));
    // xtrain, xproj, pq_recons and the gradient (sample x d floats each), rotation matrices, codebooks.
    return addBytes(addBytes(mulBytes(mulBytes(sample, d), 4 * 4), mulBytes(mulBytes(d, d), 4 * 4)), mulBytes(d, 256 * 4));
  }
  if (auto* itq = dynamic_cast<const faiss::ITQTransform*>(&t)) {
    const int64_t sample = std::min<int64_t>(n, std::max<int64_t>(mulBytes(dIn, itq->max_train_per_dim), 32768));
    // normalised sample, its PCA projection, ITQ's double matrices (several dOut x dOut).
    return addBytes(addBytes(mulBytes(mulBytes(sample, dIn + dOut), 2 * 4), mulBytes(mulBytes(dIn, dIn), 3 * 8)),
                    mulBytes(mulBytes(dOut, dOut), 8 * 8));
  }
  if (dynamic_cast<const faiss::RandomRotationMatrix*>(&t)) {
    const int64_t d = std::max(dIn, dOut);
    return mulBytes(mulBytes(d, std::max(dIn, dOut)), 3 * 4);  // the matrix, QR's copy and work space
  }
  return 0;
}

class TransformWorker : public PromiseWorker {
 public:
  TransformWorker(Napi::Env env, const char* name, TransformWrap& wrap)
      : PromiseWorker(env, name), handle_(wrap.handle()) {
    Keep(wrap.Value());
  }

 protected:
  faiss::VectorTransform& transform() { return *handle_->transform; }
  TransformHandle& handle() { return *handle_; }

 private:
  std::shared_ptr<TransformHandle> handle_;
};

class TrainWorker : public TransformWorker {
 public:
  TrainWorker(Napi::Env env, TransformWrap& wrap, const Napi::CallbackInfo& info)
      : TransformWorker(env, "transform_train", wrap) {
    x_ = floatRows(info[0], transform().d_in, "x");
    requireWithinLimit("train", trainBytes(transform(), x_.n), "the training sample's copies and the transform's matrices");
  }

 private:
  void Run() override {
    requireFinite(x_.data, x_.n * transform().d_in, transform().d_in, "x");
    ExclusiveGuard guard(handle().lock);
    // FAISS's ITQTransform refuses a second training with "'!is_trained' failed",
    // which would read as ERR_NOT_TRAINED.
    if (dynamic_cast<faiss::ITQTransform*>(&transform()) && transform().is_trained)
      throw ArgumentError(code::kUnsupported, "ITQTransform trains once (FAISS refuses a second training); build a new one");
    ThreadScope threads;
    transform().train(x_.n, x_.data);
    handle().trained = transform().is_trained;
  }
  FloatRows x_;
};

// RandomRotationMatrix.init(seed), as FAISS's init(seed).
class InitWorker : public TransformWorker {
 public:
  InitWorker(Napi::Env env, TransformWrap& wrap, const Napi::CallbackInfo& info) : TransformWorker(env, "init", wrap) {
    if (!dynamic_cast<faiss::RandomRotationMatrix*>(&transform()))
      throw ArgumentError(code::kUnsupported, handle().typeName + " has no init(seed) (RandomRotationMatrix has)");
    seed_ = static_cast<int>(integerArg(info[0], "seed", INT32_MIN, INT32_MAX));
    requireWithinLimit("init", trainBytes(transform(), 0), "the rotation matrix and its QR decomposition");
  }

 private:
  void Run() override {
    ExclusiveGuard guard(handle().lock);
    ThreadScope threads;
    static_cast<faiss::RandomRotationMatrix&>(transform()).init(seed_);
    handle().trained = transform().is_trained;
  }
  int seed_ = 0;
};

// apply (dIn -> dOut) and reverseTransform (dOut -> dIn).
class ApplyWorker : public TransformWorker {
 public:
  ApplyWorker(Napi::Env env, TransformWrap& wrap, const Napi::CallbackInfo& info, bool reverse)
      : TransformWorker(env, reverse ? "reverse_transform" : "apply", wrap), reverse_(reverse) {
    const int64_t from = reverse ? transform().d_out : transform().d_in;
    to_ = reverse ? transform().d_in : transform().d_out;
    x_ = floatRows(info[0], from, "x");
    requireWithinLimit(reverse ? "reverseTransform" : "apply", mulBytes(mulBytes(x_.n, to_), sizeof(float)),
                       std::to_string(x_.n) + " vectors of dimension " + std::to_string(to_));
    out_ = FloatResult(x_.n * to_, reverse ? "reverseTransform" : "apply");
  }

 private:
  void Run() override {
    const int64_t from = reverse_ ? transform().d_out : transform().d_in;
    requireFinite(x_.data, x_.n * from, from, "x");
    SharedGuard guard(handle().lock);
    if (!transform().is_trained)
      throw ArgumentError(code::kNotTrained, handle().typeName + " must be trained before " +
                                                 (reverse_ ? "reverseTransform" : "apply") + " (await train(x) first)");
    ThreadScope threads(x_.n);
    if (reverse_) transform().reverse_transform(x_.n, x_.data, out_.data());
    else transform().apply_noalloc(x_.n, x_.data, out_.data());
  }

  Napi::Value Result(Napi::Env env) override { return out_.release(env); }

  bool reverse_;
  int64_t to_ = 0;
  FloatRows x_;
  FloatResult out_;
};

}  // namespace

Napi::Value startTransformTrain(TransformWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<TrainWorker>(info.Env(), wrap, info);
}
Napi::Value startTransformInit(TransformWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<InitWorker>(info.Env(), wrap, info);
}
Napi::Value startTransformApply(TransformWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ApplyWorker>(info.Env(), wrap, info, false);
}
Napi::Value startTransformReverse(TransformWrap& wrap, const Napi::CallbackInfo& info) {
  return startWorker<ApplyWorker>(info.Env(), wrap, info, true);
}

}  // namespace fp
