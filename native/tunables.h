// Per-call search settings; a negative value means "use the index's own setting".
#pragma once

namespace fp {

struct Tunables {
  int nprobe = -1;
  int efSearch = -1;

  bool operator==(const Tunables& o) const { return nprobe == o.nprobe && efSearch == o.efSearch; }
};

}  // namespace fp
