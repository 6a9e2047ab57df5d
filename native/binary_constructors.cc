#include "binary_constructors.h"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHNSW.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/index_factory.h>

#include <functional>
#include <typeinfo>

#include "args.h"
#include "build_wrapped.h"
#include "binary_factory_check.h"
#include "binary_index.h"
#include "binary_io.h"
#include "errors.h"
#include "factory_check.h"
#include "memory_limits.h"

namespace fp {
namespace {

// Bits: a code is then at most 128 KiB.
constexpr int64_t kMaxBits = int64_t{1} << 20;

int64_t bitsArg(const Napi::Value& v) {
  const int64_t d = integerArg(v, "d", 8, kMaxBits);
  if (d % 8 != 0)
    throw ArgumentError(code::kInvalidArgument,
                        "Expected d, the number of bits of a binary code, to be a multiple of 8 but it is " + std::to_string(d));
  return d;
}

// The quantizer is copied (through FAISS's writer and reader), as the float
// constructors copy theirs; an index being changed is ERR_BUSY (constructors.cc).
faiss::IndexBinary* quantizerCopy(const Napi::Value& v) {
  auto handle = BinaryIndexWrap::FromValue(v, "quantizer").handle();
  if (!handle->lock().tryLockShared())
    throw ArgumentError(code::kBusy,
                        "The quantizer is being changed by an operation in flight (train, add, remove, reset); await it "
                        "before wrapping the index");
  SharedGuard guard(handle->lock(), SharedGuard::kAdopt);
  const auto& type = typeid(*handle->index());
  if (type != typeid(faiss::IndexBinaryFlat) && type != typeid(faiss::IndexBinaryHNSW))
    throw ArgumentError(code::kInvalidArgument, "Expected an IndexBinaryFlat or IndexBinaryHNSW for quantizer");
  auto bytes = serializeBinary(*handle->index());
  return deserializeBinary(bytes->data(), bytes->size(), /*trusted=*/true).release();
}

Napi::Value build(const Napi::CallbackInfo& info, const char* context, const std::function<std::unique_ptr<faiss::IndexBinary>()>& make) {
  return buildWrapped<BinaryIndexWrap, faiss::IndexBinary>(info, context, make);
}

Napi::Value newBinaryFlat(const Napi::CallbackInfo& info) {
  return build(info, "IndexBinaryFlat", [&] { return std::make_unique<faiss::IndexBinaryFlat>(bitsArg(info[0])); });
}

Napi::Value newBinaryIVF(const Napi::CallbackInfo& info) {
  return build(info, "IndexBinaryIVF", [&] {
    const auto d = bitsArg(info[1]);
    const auto nlist = integerArg(info[2], "nlist", 1, kMaxNlist);
    requireWithinLimit("IndexBinaryIVF", binaryIvfBytes(d, nlist), "centroids and inverted lists");
    std::unique_ptr<faiss::IndexBinary> q(quantizerCopy(info[0]));
    if (q->d != d) throw ArgumentError(code::kDimension, "Expected a quantizer of dimension " + std::to_string(d));
    auto index = std::make_unique<faiss::IndexBinaryIVF>(q.release(), d, nlist);
    index->own_fields = true;
    return index;
  });
}

Napi::Value newBinaryHNSW(const Napi::CallbackInfo& info) {
  return build(info, "IndexBinaryHNSW", [&] {
    const auto d = bitsArg(info[0]);
    const auto m = info[1].IsUndefined() ? 32 : integerArg(info[1], "M", kMinHnswM, kMaxHnswM);
    return std::make_unique<faiss::IndexBinaryHNSW>(static_cast<int>(d), static_cast<int>(m));
  });
}

Napi::Value indexBinaryFactory(const Napi::CallbackInfo& info) {
  return build(info, "index_binary_factory", [&] {
    const auto d = bitsArg(info[0]);
    const auto description = stringArg(info[1], "description");
    checkBinaryFactory(d, description);
    return std::unique_ptr<faiss::IndexBinary>(faiss::index_binary_factory(static_cast<int>(d), description.c_str()));
  });
}

}  // namespace

void defineBinaryConstructors(Napi::Env env, Napi::Object exports) {
  exports.Set("newBinaryFlat", Napi::Function::New<newBinaryFlat>(env));
  exports.Set("newBinaryIVF", Napi::Function::New<newBinaryIVF>(env));
  exports.Set("newBinaryHNSW", Napi::Function::New<newBinaryHNSW>(env));
  exports.Set("indexBinaryFactory", Napi::Function::New<indexBinaryFactory>(env));
}

}  // namespace fp
