#include "args.h"

#include <cmath>

#include "metrics.h"

namespace fp {
namespace {

[[noreturn]] void invalid(const std::string& msg) { throw ArgumentError(code::kInvalidArgument, msg); }

}  // namespace

FloatRows floatRows(const Napi::Value& v, int64_t d, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    invalid(std::string("Expected a Float32Array for ") + name);
  FloatRows rows;
  rows.memory = pinMemory(v, name);
  const int64_t len = static_cast<int64_t>(rows.memory.bytes / sizeof(float));
  if (len == 0) invalid(std::string("Expected at least one vector in ") + name + " but it is empty");
  if (len % d != 0)
    throw ArgumentError(code::kDimension, std::string("Expected ") + name + " to hold rows of dimension " +
                                              std::to_string(d) + " but its length " + std::to_string(len) +
                                              " is not a multiple of " + std::to_string(d));
  rows.data = reinterpret_cast<const float*>(rows.memory.data);
  rows.n = len / d;
  return rows;
}

ByteRows byteRows(const Napi::Value& v, int64_t codeSize, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    invalid(std::string("Expected a Uint8Array of binary codes for ") + name);
  ByteRows rows;
  rows.memory = pinMemory(v, name);
  const int64_t len = static_cast<int64_t>(rows.memory.bytes);
  if (len == 0) invalid(std::string("Expected at least one code in ") + name + " but it is empty");
  if (len % codeSize != 0)
    throw ArgumentError(code::kDimension, std::string("Expected ") + name + " to hold codes of " +
                                              std::to_string(codeSize) + " bytes (d / 8) but its length " +
                                              std::to_string(len) + " is not a multiple of " + std::to_string(codeSize));
  rows.data = rows.memory.data;
  rows.n = len / codeSize;
  return rows;
}

IdArray idArray(const Napi::Value& v, int64_t expected, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array)
    invalid(std::string("Expected a BigInt64Array for ") + name);
  IdArray ids;
  ids.memory = pinMemory(v, name);
  ids.n = static_cast<int64_t>(ids.memory.bytes / sizeof(int64_t));
  if (expected >= 0 && ids.n != expected)
    invalid(std::string("Expected ") + std::to_string(expected) + " ids in " + name + " (one per vector) but received " +
            std::to_string(ids.n));
  ids.data = reinterpret_cast<const int64_t*>(ids.memory.data);
  return ids;
}

int64_t integerArg(const Napi::Value& v, const char* name, int64_t min, int64_t max) {
  if (!v.IsNumber()) invalid(std::string("Expected an integer for ") + name);
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x) || std::floor(x) != x || x < static_cast<double>(min) || x > static_cast<double>(max))
    invalid(std::string("Expected an integer between ") + std::to_string(min) + " and " + std::to_string(max) +
            " for " + name);
  return static_cast<int64_t>(x);
}

double numberArg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) invalid(std::string("Expected a number for ") + name);
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) invalid(std::string("Expected a finite number for ") + name);
  return x;
}

std::string stringArg(const Napi::Value& v, const char* name) {
  if (!v.IsString()) invalid(std::string("Expected a string for ") + name);
  return v.As<Napi::String>().Utf8Value();
}

faiss::MetricType metricOf(const Napi::Value& v, bool extraOk, const char* type) {
  if (v.IsUndefined() || v.IsNull()) return faiss::METRIC_L2;
  const int64_t m = integerArg(v, "metric", 0, faiss::METRIC_JensenShannon);
  if (!isFaissMetric(m))
    throw ArgumentError(code::kInvalidArgument, "Expected a FAISS metric (METRIC_*) for metric but received " + std::to_string(m));
  if (isExtraMetric(m) && !extraOk)
    throw ArgumentError(code::kUnsupported, std::string(type) + " supports METRIC_L2 and METRIC_INNER_PRODUCT only, not " +
                                                metricName(m) + " (the other metrics are for flat and HNSW-flat indexes)");
  return static_cast<faiss::MetricType>(m);
}

float metricArgValue(const Napi::Value& v) {
  const double p = numberArg(v, "metricArg");
  if (!(p > 0) || p > 1e30)
    throw ArgumentError(code::kInvalidArgument, "Expected a positive finite number for metricArg (the p of METRIC_Lp)");
  return static_cast<float>(p);
}

void requireFinite(const float* x, int64_t count, int64_t d, const char* name) {
  for (int64_t i = 0; i < count; i++) {
    if (!std::isfinite(x[i]))
      invalid(std::string(name) + " contains a non-finite value (NaN or Infinity) in row " + std::to_string(i / d) +
              ", column " + std::to_string(i % d));
  }
}

}  // namespace fp
