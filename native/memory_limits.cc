#include "memory_limits.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "errors.h"

namespace fp {
namespace {

std::atomic<int64_t> limit{kDefaultPerCallBytes};
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

}  // namespace

void setPerCallBytes(int64_t bytes) { limit = std::clamp(bytes, kMinPerCallBytes, kMaxPerCallBytes); }
int64_t perCallBytes() { return limit.load(); }

void requireWithinLimit(const char* operation, int64_t bytes, const std::string& what) {
  const int64_t max = perCallBytes();
  if (bytes <= max) return;
  throw ArgumentError(code::kResourceLimit, std::string(operation) + " would allocate " +
                                                (bytes == kSaturated ? std::string("more than 8 EiB") : formatBytes(bytes)) +
                                                " (" + what + "), above the per-call memory limit (perCallBytes) of " +
                                                formatBytes(max));
}

void requireAllocatable(const char* operation, int64_t bytes) {
  // Below this, a failure is unlikely and the try would cost more than it saves.
  constexpr int64_t kTryFrom = int64_t{16} << 20;
  if (bytes < kTryFrom) return;
  void* p = std::malloc(static_cast<size_t>(bytes));
  if (!p)
    throw ArgumentError(code::kResourceLimit, std::string(operation) + ": the process could not allocate the " +
                                                  formatBytes(bytes) + " of temporary buffers it needs");
  std::free(p);
}

int64_t addBytes(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return kSaturated;
  return a > kSaturated - b ? kSaturated : a + b;
}

int64_t mulBytes(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return kSaturated;
  if (a == 0 || b == 0) return 0;
  return a > kSaturated / b ? kSaturated : a * b;
}

std::string formatBytes(int64_t bytes) {
  static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    u++;
  }
  char buf[48];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace fp
