#include "constructors.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/index_factory.h>

#include <functional>

#include "args.h"
#include "build_wrapped.h"
#include "errors.h"
#include "factory_check.h"
#include "index.h"
#include "io.h"
#include "memory_limits.h"
#include "metrics.h"
#include "transform.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;
constexpr uint32_t kMaxChain = 64;  // transforms in one IndexPreTransform

int64_t dimensionArg(const Napi::Value& v) { return integerArg(v, "d", 1, kMaxDimension); }

void requireDivides(int64_t d, int64_t m, const char* name) {
  if (d % m != 0)
    throw ArgumentError(code::kInvalidArgument, std::string("Expected ") + name + " (" + std::to_string(m) +
                                                    ") to divide the dimension d (" + std::to_string(d) + ")");
}

// Wrapped indexes (quantizers, IDMap's inner index) are copied, so the JS object
// passed in stays an independent index the caller still owns. The copy goes
// through FAISS's writer and reader rather than clone_index, which in 1.7.3
// turns an IndexHNSWFlat into a bare IndexHNSW that cannot even be written.
// This runs on the JS thread, which must not wait for an operation in flight
// (a training holds the lock for seconds): an index being changed is ERR_BUSY.
faiss::Index* cloneOf(const Napi::Value& v, const char* name) {
  auto handle = IndexWrap::FromValue(v, name).handle();
  if (!handle->lock().tryLockShared())
    throw ArgumentError(code::kBusy, std::string("The ") + name +
                                         " is being changed by an operation in flight (train, add, remove, reset, "
                                         "merge); await it before wrapping the index");
  SharedGuard guard(handle->lock(), SharedGuard::kAdopt);
  auto bytes = serialize(*handle->index());
  auto copy = deserialize(bytes->data(), bytes->size(), /*trusted=*/true);
  // METRIC_Lp's p as last set from JS, which the FAISS object may not hold yet
  // (index_handle.h).
  if (handle->isLp()) {
    std::vector<faiss::Index*> lp;
    collectLp(copy.get(), lp);
    for (auto* i : lp) i->metric_arg = handle->metricArg();
  }
  return copy.release();
}

template <typename T>
std::unique_ptr<faiss::Index> owning(T* index) {
  index->own_fields = true;
  return std::unique_ptr<faiss::Index>(index);
}

// Runs a builder and turns every failure into a FaissError.
Napi::Value build(const Napi::CallbackInfo& info, const char* context, const std::function<std::unique_ptr<faiss::Index>()>& make) {
  return buildWrapped<IndexWrap, faiss::Index>(info, context, make);
}

Napi::Value newFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexFlat", [&] {
    const auto d = dimensionArg(info[0]);
    return std::make_unique<faiss::IndexFlat>(d, metricOf(info[1], true, "IndexFlat"));
  });
}

Napi::Value newIVFFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexIVFFlat", [&] {
    const auto d = dimensionArg(info[1]);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxNlist);
    const auto metric = metricOf(info[3], false, "IndexIVFFlat");
    requireWithinLimit("IndexIVFFlat", ivfBytes(d, nlist), "centroids and inverted lists");
    auto* q = cloneOf(info[0], "quantizer");
    if (q->d != d) {
      delete q;
      throw ArgumentError(code::kDimension, "Expected a quantizer of dimension " + std::to_string(d));
    }
    return owning(new faiss::IndexIVFFlat(q, d, nlist, metric));
  });
}

Napi::Value newIVFPQ(const Napi::CallbackInfo& info) {
  return build(info, "IndexIVFPQ", [&] {
    const auto d = dimensionArg(info[1]);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxNlist);
    const auto m = integerArg(info[3], "m", 1, d);
    const auto nbits = integerArg(info[4], "nbits", 1, kMaxPqBits);
    const auto metric = metricOf(info[5], false, "IndexIVFPQ");
    requireDivides(d, m, "m");
    requireWithinLimit("IndexIVFPQ", addBytes(addBytes(ivfBytes(d, nlist), pqTablesBytes(d, nbits)), ivfpqTableBytes(nlist, m, nbits)),
                       "centroids, inverted lists, the PQ codebook and its precomputed table");
    auto* q = cloneOf(info[0], "quantizer");
    if (q->d != d) {
      delete q;
      throw ArgumentError(code::kDimension, "Expected a quantizer of dimension " + std::to_string(d));
    }
    return owning(new faiss::IndexIVFPQ(q, d, nlist, m, nbits, metric));
  });
}

Napi::Value newHNSWFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexHNSWFlat", [&] {
    const auto d = dimensionArg(info[0]);
    const auto m = info[1].IsUndefined() ? 32 : integerArg(info[1], "M", kMinHnswM, kMaxHnswM);
    const auto metric = metricOf(info[2], true, "IndexHNSWFlat");
    return std::make_unique<faiss::IndexHNSWFlat>(d, m, metric);
  });
}

Napi::Value newPQ(const Napi::CallbackInfo& info) {
  return build(info, "IndexPQ", [&] {
    const auto d = dimensionArg(info[0]);
    const auto m = integerArg(info[1], "M", 1, d);
    const auto nbits = integerArg(info[2], "nbits", 1, kMaxPqBits);
    requireDivides(d, m, "M");
    requireWithinLimit("IndexPQ", pqTablesBytes(d, nbits), "the PQ codebook");
    return std::make_unique<faiss::IndexPQ>(d, m, nbits, metricOf(info[3], false, "IndexPQ"));
  });
}

Napi::Value newScalarQuantizer(const Napi::CallbackInfo& info) {
  return build(info, "IndexScalarQuantizer", [&] {
    const auto d = dimensionArg(info[0]);
    const auto qtype = integerArg(info[1], "qtype", 0, faiss::ScalarQuantizer::QT_6bit);
    return std::make_unique<faiss::IndexScalarQuantizer>(
        d, static_cast<faiss::ScalarQuantizer::QuantizerType>(qtype),
        metricOf(info[2], false, "IndexScalarQuantizer"));
  });
}

template <typename IDMap>
Napi::Value newIDMapOf(const Napi::CallbackInfo& info, const char* name) {
  return build(info, name, [&] {
    auto* inner = cloneOf(info[0], "index");
    if (inner->ntotal != 0) {
      delete inner;
      throw ArgumentError(code::kInvalidArgument, std::string(name) + " must wrap an empty index");
    }
    return owning(new IDMap(inner));
  });
}

Napi::Value newIDMap(const Napi::CallbackInfo& info) { return newIDMapOf<faiss::IndexIDMap>(info, "IndexIDMap"); }
Napi::Value newIDMap2(const Napi::CallbackInfo& info) { return newIDMapOf<faiss::IndexIDMap2>(info, "IndexIDMap2"); }

// (transforms: NativeTransform[], index): copies of the transforms, applied in
// order, then a copy of the index; the IndexPreTransform owns all of them.
Napi::Value newPreTransform(const Napi::CallbackInfo& info) {
  return build(info, "IndexPreTransform", [&] {
    if (!info[0].IsArray()) throw ArgumentError(code::kInvalidArgument, "Expected an array of vector transforms");
    const auto list = info[0].As<Napi::Array>();
    const uint32_t n = list.Length();
    if (n == 0 || n > kMaxChain)
      throw ArgumentError(code::kInvalidArgument, "Expected 1 to " + std::to_string(kMaxChain) + " vector transforms");
    std::vector<std::unique_ptr<faiss::VectorTransform>> chain;
    for (uint32_t i = 0; i < n; i++) {
      chain.push_back(cloneTransform(list.Get(i), "transform"));
      if (i > 0 && chain[i - 1]->d_out != chain[i]->d_in)
        throw ArgumentError(code::kDimension, "Transform " + std::to_string(i) + " takes vectors of dimension " +
                                                  std::to_string(chain[i]->d_in) + " but the one before it gives " +
                                                  std::to_string(chain[i - 1]->d_out));
    }
    std::unique_ptr<faiss::Index> inner(cloneOf(info[1], "index"));
    if (inner->d != chain.back()->d_out)
      throw ArgumentError(code::kDimension, "Expected an index of dimension " + std::to_string(chain.back()->d_out) +
                                                " (the last transform's dOut) but it has " + std::to_string(inner->d));
    auto index = std::make_unique<faiss::IndexPreTransform>(inner.release());
    index->own_fields = true;
    for (uint32_t i = n; i-- > 0;) index->prepend_transform(chain[i].release());
    return std::unique_ptr<faiss::Index>(std::move(index));
  });
}

// (base): a copy of the (empty) base index, refined by exact distances from a
// flat copy of the vectors, as faiss.IndexRefineFlat(base).
Napi::Value newRefineFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexRefineFlat", [&] {
    std::unique_ptr<faiss::Index> base(cloneOf(info[0], "base"));
    if (base->ntotal != 0) throw ArgumentError(code::kInvalidArgument, "IndexRefineFlat must wrap an empty index");
    if (isExtraMetric(base->metric_type))
      throw ArgumentError(code::kUnsupported, "IndexRefineFlat supports METRIC_L2 and METRIC_INNER_PRODUCT only, not " +
                                                  metricName(base->metric_type));
    auto index = std::make_unique<faiss::IndexRefineFlat>(base.get());
    base.release();
    index->own_fields = true;
    return std::unique_ptr<faiss::Index>(std::move(index));
  });
}

Napi::Value indexFactory(const Napi::CallbackInfo& info) {
  return build(info, "index_factory", [&] {
    const auto d = dimensionArg(info[0]);
    const auto description = stringArg(info[1], "description");
    const auto metric = metricOf(info[2], true, "index_factory");
    checkFactory(d, description);
    std::unique_ptr<faiss::Index> index(faiss::index_factory(d, description.c_str(), metric));
    if (isExtraMetric(metric) && !extraMetricSafe(*index))
      throw ArgumentError(code::kUnsupported, "\"" + description + "\" does not support " + metricName(metric) +
                                                  ": the metrics other than L2 and inner product work with Flat and "
                                                  "HNSW<M> (HNSW over a flat storage), alone or under IDMap/IDMap2");
    return index;
  });
}

}  // namespace

void defineConstructors(Napi::Env env, Napi::Object exports) {
  exports.Set("newFlat", Napi::Function::New<newFlat>(env));
  exports.Set("newIVFFlat", Napi::Function::New<newIVFFlat>(env));
  exports.Set("newIVFPQ", Napi::Function::New<newIVFPQ>(env));
  exports.Set("newHNSWFlat", Napi::Function::New<newHNSWFlat>(env));
  exports.Set("newPQ", Napi::Function::New<newPQ>(env));
  exports.Set("newScalarQuantizer", Napi::Function::New<newScalarQuantizer>(env));
  exports.Set("newIDMap", Napi::Function::New<newIDMap>(env));
  exports.Set("newIDMap2", Napi::Function::New<newIDMap2>(env));
  exports.Set("newPreTransform", Napi::Function::New<newPreTransform>(env));
  exports.Set("newRefineFlat", Napi::Function::New<newRefineFlat>(env));
  exports.Set("indexFactory", Napi::Function::New<indexFactory>(env));
}

}  // namespace fp
