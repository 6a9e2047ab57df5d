// Argument checks for values arriving from JavaScript. The TS layer validates
// first with friendlier messages; these checks are what keeps plain-JS callers
// who bypass it from crashing the process.
#pragma once

#include <faiss/MetricType.h>
#include <napi.h>

#include <cstdint>
#include <string>

#include "errors.h"
#include "pinned_memory.h"

namespace fp {

// A row-major n x d float matrix living in a Float32Array's memory (not copied),
// pinned until the FloatRows goes (pinned_memory.h).
struct FloatRows {
  PinnedMemory memory;
  const float* data = nullptr;
  int64_t n = 0;
};

FloatRows floatRows(const Napi::Value& v, int64_t d, const char* name);

// A row-major n x codeSize byte matrix (binary codes) in a Uint8Array's memory
// (not copied), pinned as FloatRows is.
struct ByteRows {
  PinnedMemory memory;
  const uint8_t* data = nullptr;
  int64_t n = 0;
};

ByteRows byteRows(const Napi::Value& v, int64_t codeSize, const char* name);

// An int64 id array (BigInt64Array) of exactly `expected` entries, or any length
// when expected < 0; pinned as FloatRows is.
struct IdArray {
  PinnedMemory memory;
  const int64_t* data = nullptr;
  int64_t n = 0;
};

IdArray idArray(const Napi::Value& v, int64_t expected, const char* name);

int64_t integerArg(const Napi::Value& v, const char* name, int64_t min, int64_t max);
double numberArg(const Napi::Value& v, const char* name);
// A metric argument: undefined/null -> METRIC_L2; a value that is no FAISS
// metric -> ERR_INVALID_ARGUMENT; one beyond L2 and inner product where
// `extraOk` is false -> ERR_UNSUPPORTED naming `type` (metrics.h says why).
faiss::MetricType metricOf(const Napi::Value& v, bool extraOk, const char* type);
// METRIC_Lp's p (Python's index.metric_arg): finite and positive.
float metricArgValue(const Napi::Value& v);
std::string stringArg(const Napi::Value& v, const char* name);

// Throws ERR_INVALID_ARGUMENT naming the first NaN or infinite value; runs on the
// worker thread so that scanning a large batch does not block the event loop.
void requireFinite(const float* x, int64_t count, int64_t d, const char* name);

}  // namespace fp
