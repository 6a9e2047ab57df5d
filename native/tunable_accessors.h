// The nprobe / efSearch / efConstruction properties, as every index wrapper
// (IndexWrap, BinaryIndexWrap) exposes them: undefined where the index has none,
// ERR_UNSUPPORTED when set there, an integer 1 .. 2^30 otherwise. And
// kmeansSeed, where the index has an IVF to train: FAISS's int seed.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "args.h"
#include "errors.h"
#include "handle_core.h"

namespace fp {

enum class Tunable { kNprobe, kEfSearch, kEfConstruction };

inline Napi::Value getTunable(Napi::Env env, const HandleCore& h, Tunable which) {
  switch (which) {
    case Tunable::kNprobe:
      return h.hasIvf() ? Napi::Number::New(env, h.nprobe()) : env.Undefined();
    case Tunable::kEfSearch:
      return h.hasHnsw() ? Napi::Number::New(env, h.efSearch()) : env.Undefined();
    default:
      return h.hasHnsw() ? Napi::Number::New(env, h.efConstruction()) : env.Undefined();
  }
}

inline void setTunable(Napi::Env env, HandleCore& h, Tunable which, const std::string& typeName, const Napi::Value& v) {
  constexpr int kMaxTunable = 1 << 30;
  const char* name = which == Tunable::kNprobe ? "nprobe" : which == Tunable::kEfSearch ? "efSearch" : "efConstruction";
  const bool present = which == Tunable::kNprobe ? h.hasIvf() : h.hasHnsw();
  if (!present)
    throw makeError(env, {code::kUnsupported, typeName + " has no " + name + " (only " +
                                                  (which == Tunable::kNprobe ? "IVF" : "HNSW") + " indexes do)"});
  try {
    const int value = static_cast<int>(integerArg(v, name, 1, kMaxTunable));
    if (which == Tunable::kNprobe) h.setNprobe(value);
    else if (which == Tunable::kEfSearch) h.setEfSearch(value);
    else h.setEfConstruction(value);
  } catch (const ArgumentError& e) {
    throw makeError(env, e.info);
  }
}

inline Napi::Value getKmeansSeed(Napi::Env env, const HandleCore& h) {
  return h.hasClustering() ? Napi::Number::New(env, h.kmeansSeed()) : env.Undefined();
}

inline void setKmeansSeed(Napi::Env env, HandleCore& h, const std::string& typeName, const Napi::Value& v) {
  if (!h.hasClustering())
    throw makeError(env, {code::kUnsupported, typeName + " has no kmeansSeed (only IVF indexes train a k-means)"});
  try {
    h.setKmeansSeed(static_cast<int>(integerArg(v, "kmeansSeed", INT32_MIN, INT32_MAX)));
  } catch (const ArgumentError& e) {
    throw makeError(env, e.info);
  }
}

}  // namespace fp
