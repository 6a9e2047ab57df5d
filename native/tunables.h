// Per-call search settings; a negative value means "use the index's own setting".
#pragma once

#include <cstdint>

namespace fp {

struct Tunables {
  int nprobe = -1;
  int efSearch = -1;
  // An IndexRefine's k_factor (not a per-call setting: the index's, for the
  // memory estimate of a search, search_memory.h).
  float kFactor = -1;
  // A subset search's labels, rounded up to a power of two (not a per-call
  // setting: what its timing is kept under, search_cost.h; a larger subset costs
  // more, as a larger nprobe or efSearch does).
  int64_t subsetSize = -1;

  bool operator==(const Tunables& o) const {
    return nprobe == o.nprobe && efSearch == o.efSearch && kFactor == o.kFactor && subsetSize == o.subsetSize;
  }
};

}  // namespace fp
