#include "binary_factory_check.h"

#include <regex>

#include "errors.h"
#include "factory_check.h"
#include "memory_limits.h"

namespace fp {
namespace {

const std::regex kBinaryIVF("BIVF([0-9]+)(_HNSW([0-9]+))?");
const std::regex kBinaryHNSW("BHNSW([0-9]+)");
const std::regex kBinaryHash("BHash.*");

// Bytes of HNSW graph per node and unit of M (as factory_check.cc).
constexpr int64_t kHnswBytesPerM = 10;

const char* kAccepted = "accepted: BFlat, BIVF<nlist>, BIVF<nlist>_HNSW<M>, BHNSW<M>";

}  // namespace

int64_t binaryIvfBytes(int64_t d, int64_t nlist) { return ivfBytes(d, nlist); }

void checkBinaryFactory(int64_t d, const std::string& description) {
  const std::string what = "indexBinaryFactory(" + std::to_string(d) + ", \"" + description + "\"): ";
  auto size = [&](const std::string& digits, const char* name, int64_t min, int64_t max) {
    if (digits.size() > 12 || std::stoll(digits) < min || std::stoll(digits) > max)
      throw ArgumentError(code::kInvalidArgument, what + "expected " + name + " between " + std::to_string(min) +
                                                      " and " + std::to_string(max) + " but it is " + digits);
    return std::stoll(digits);
  };
  std::smatch m;
  int64_t bytes = 0;
  if (description == "BFlat") return;
  if (std::regex_match(description, m, kBinaryHNSW)) {
    size(m[1], "HNSW's M (neighbours per node)", kMinHnswM, kMaxHnswM);
    return;
  }
  if (std::regex_match(description, m, kBinaryIVF)) {
    const int64_t nlist = size(m[1], "IVF's number of lists nlist", 1, kMaxNlist);
    bytes = binaryIvfBytes(d, nlist);
    if (m[2].matched)
      bytes = addBytes(bytes, mulBytes(nlist, kHnswBytesPerM * size(m[3], "HNSW's M (neighbours per node)", kMinHnswM, kMaxHnswM)));
    requireWithinLimit("indexBinaryFactory", bytes, "centroids and inverted lists of \"" + description + "\"");
    return;
  }
  if (std::regex_match(description, kBinaryHash))
    throw ArgumentError(code::kUnsupported, what + "binary hash indexes are not supported (" + kAccepted + ")");
  throw ArgumentError(code::kInvalidArgument, what + "could not parse it (" + kAccepted + ")");
}

}  // namespace fp
