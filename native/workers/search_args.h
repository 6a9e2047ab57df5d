// Per-call tunables shared by search and rangeSearch: (…, nprobe?, efSearch?).
#pragma once

#include <napi.h>

#include "../args.h"
#include "../index_handle.h"

namespace fp {

inline Tunables tunablesArg(const Napi::Value& nprobe, const Napi::Value& efSearch, const IndexHandle& h,
                            const std::string& typeName) {
  Tunables t;
  if (!nprobe.IsUndefined() && !nprobe.IsNull()) {
    if (!h.hasIvf()) throw ArgumentError(code::kUnsupported, typeName + " has no nprobe (only IVF indexes do)");
    t.nprobe = static_cast<int>(integerArg(nprobe, "nprobe", 1, 1 << 30));
  }
  if (!efSearch.IsUndefined() && !efSearch.IsNull()) {
    if (!h.hasHnsw()) throw ArgumentError(code::kUnsupported, typeName + " has no efSearch (only HNSW indexes do)");
    t.efSearch = static_cast<int>(integerArg(efSearch, "efSearch", 1, 1 << 30));
  }
  return t;
}

}  // namespace fp
