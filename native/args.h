// Argument checks for values arriving from JavaScript. The TS layer validates
// first with friendlier messages; these checks are what keeps plain-JS callers
// who bypass it from crashing the process.
#pragma once

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
std::string stringArg(const Napi::Value& v, const char* name);
int metricArg(const Napi::Value& v);  // undefined -> METRIC_L2

// Throws ERR_INVALID_ARGUMENT naming the first NaN or infinite value; runs on the
// worker thread so that scanning a large batch does not block the event loop.
void requireFinite(const float* x, int64_t count, int64_t d, const char* name);

}  // namespace fp
