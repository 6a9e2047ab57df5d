#include "constructors.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/index_factory.h>

#include <functional>

#include "args.h"
#include "errors.h"
#include "factory_check.h"
#include "index.h"
#include "io.h"
#include "memory_limits.h"

namespace fp {
namespace {

constexpr int64_t kMaxDimension = 1 << 20;

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
  return deserialize(bytes->data(), bytes->size(), /*trusted=*/true).release();
}

template <typename T>
std::unique_ptr<faiss::Index> owning(T* index) {
  index->own_fields = true;
  return std::unique_ptr<faiss::Index>(index);
}

// Runs a builder and turns every failure into a FaissError.
Napi::Value build(const Napi::CallbackInfo& info, const char* context,
                  const std::function<std::unique_ptr<faiss::Index>()>& make) {
  std::unique_ptr<faiss::Index> index;
  try {
    index = make();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    ErrorInfo e = classifyCurrentException(context);
    if (e.code == code::kFaiss) e.code = code::kInvalidArgument;  // FAISS rejected the parameters
    throw makeError(info.Env(), e);
  }
  return IndexWrap::Wrap(info.Env(), std::move(index));
}

Napi::Value newFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexFlat", [&] {
    const auto d = dimensionArg(info[0]);
    return std::make_unique<faiss::IndexFlat>(d, static_cast<faiss::MetricType>(metricArg(info[1])));
  });
}

Napi::Value newIVFFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexIVFFlat", [&] {
    const auto d = dimensionArg(info[1]);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxNlist);
    const auto metric = static_cast<faiss::MetricType>(metricArg(info[3]));
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
    const auto metric = static_cast<faiss::MetricType>(metricArg(info[5]));
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
    const auto metric = static_cast<faiss::MetricType>(metricArg(info[2]));
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
    return std::make_unique<faiss::IndexPQ>(d, m, nbits, static_cast<faiss::MetricType>(metricArg(info[3])));
  });
}

Napi::Value newScalarQuantizer(const Napi::CallbackInfo& info) {
  return build(info, "IndexScalarQuantizer", [&] {
    const auto d = dimensionArg(info[0]);
    const auto qtype = integerArg(info[1], "qtype", 0, faiss::ScalarQuantizer::QT_6bit);
    return std::make_unique<faiss::IndexScalarQuantizer>(
        d, static_cast<faiss::ScalarQuantizer::QuantizerType>(qtype),
        static_cast<faiss::MetricType>(metricArg(info[2])));
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

Napi::Value indexFactory(const Napi::CallbackInfo& info) {
  return build(info, "index_factory", [&] {
    const auto d = dimensionArg(info[0]);
    const auto description = stringArg(info[1], "description");
    const auto metric = static_cast<faiss::MetricType>(metricArg(info[2]));
    checkFactory(d, description);
    return std::unique_ptr<faiss::Index>(faiss::index_factory(d, description.c_str(), metric));
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
  exports.Set("indexFactory", Napi::Function::New<indexFactory>(env));
}

}  // namespace fp
