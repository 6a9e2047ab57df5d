// Per-environment state (one per Node.js thread that loads the addon), kept as
// N-API instance data instead of globals so that worker_threads stay independent.
#pragma once

#include <napi.h>

namespace fp {

struct LaneChannel;

struct AddonData {
  Napi::FunctionReference errorClass;  // the TS layer's FaissError
  Napi::FunctionReference indexClass;  // the native Index wrapper
  Napi::FunctionReference binaryIndexClass;  // the native IndexBinary wrapper
  Napi::FunctionReference transformClass;  // the native VectorTransform wrapper (transform.h)
  LaneChannel* lanes = nullptr;        // search_lanes.cc; freed with its thread-safe function
};

inline AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace fp
