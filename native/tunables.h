// Per-call search settings; a negative value means "use the index's own setting".
#pragma once

namespace fp {

struct Tunables {
  int nprobe = -1;
  int efSearch = -1;
  // An IndexRefine's k_factor (not a per-call setting: the index's, for the
  // memory estimate of a search, search_memory.h).
  float kFactor = -1;

  bool operator==(const Tunables& o) const { return nprobe == o.nprobe && efSearch == o.efSearch && kFactor == o.kFactor; }
};

}  // namespace fp
